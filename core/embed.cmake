# Turns a Lua file into a C array, so the engine's own Lua ships inside kam.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," arr "${hex}")
file(WRITE ${OUT} "/* generated from ${NAME}.lua */\nconst unsigned char ${NAME}[] = {${arr} 0};\nconst unsigned int ${NAME}_len = ${len};\n")
