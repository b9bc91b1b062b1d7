-- class: budget | expect: stopped | an endless loop in a to-be-closed variable's __close
do
  local x <close> = setmetatable({}, {__close = function() while true do end end})
end
return "after"
