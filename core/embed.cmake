# Turns Lua files into C arrays, so the engine's own Lua ships inside kam.
#   cmake -DIN=FILE -DNAME=NAME -DOUT=OUT.c -P embed.cmake
#     one file: the array NAME and its length NAME_len
#   cmake -DBASE=DIR -DIN=a.lua,sub/b.lua -DOUT=OUT.c -P embed.cmake
#     several (commas: a CMake list would not survive the command line), one
#     array each, named after its path under DIR: a_lua, sub_b_lua (and _len)
string(REPLACE "," ";" files "${IN}")
set(text "")
foreach(f IN LISTS files)
  if(DEFINED NAME)
    set(path ${f})
    set(name ${NAME})
    get_filename_component(what ${f} NAME)
  else()
    set(path ${BASE}/${f})
    string(MAKE_C_IDENTIFIER "${f}" name)
    set(what ${f})
  endif()
  file(READ ${path} hex HEX)
  string(LENGTH "${hex}" n)
  math(EXPR len "${n} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," arr "${hex}")
  string(APPEND text "/* generated from ${what} */\nconst unsigned char ${name}[] = {${arr} 0};\nconst unsigned int ${name}_len = ${len};\n")
endforeach()
file(WRITE ${OUT} "${text}")
