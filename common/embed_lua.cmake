# Writes OUT: one NUL-terminated char array per Lua script in SCRIPTS,
# named hg_lua_<file name without .lua>. Run with cmake -P.
separate_arguments(SCRIPTS)
set(body "/* Generated from common/lua by embed_lua.cmake; do not edit. */\n")
foreach(script IN LISTS SCRIPTS)
  get_filename_component(name ${script} NAME_WE)
  file(READ ${script} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND body "extern const char hg_lua_${name}[];\n")
  string(APPEND body "const char hg_lua_${name}[] = {${bytes}0x00};\n")
endforeach()
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
