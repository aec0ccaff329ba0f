# cmake -DSPV=in.spv -DOUT=out.inc -P SpvToWords.cmake
# Writes a SPIR-V binary as comma-separated 32-bit little-endian words for #include.
file(READ ${SPV} hex HEX)
string(LENGTH "${hex}" len)
math(EXPR rem "${len} % 8")
if(NOT rem EQUAL 0 OR len EQUAL 0)
  message(FATAL_ERROR "${SPV}: not a whole number of 32-bit words")
endif()
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u,\n" words "${hex}")
file(WRITE ${OUT} "${words}")
