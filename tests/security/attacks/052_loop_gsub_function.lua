-- class: budget | expect: stopped | an endless loop in string.gsub's replacement function
return (string.gsub("abc", ".", function() while true do end end))
