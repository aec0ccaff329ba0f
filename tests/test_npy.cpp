// .npy reading and writing: the header forms numpy writes, and headers whose numbers or keys are
// malformed, refused with a one-line vkseg::Error.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "harness.hpp"
#include "vkseg/error.hpp"
#include "vkseg/npy.hpp"

namespace vkseg::test {
namespace {

// A version 1.0 (or 2.0) file: magic, version, header length, `header` and `data_bytes` bytes.
std::string npy_file(const std::string& header, size_t data_bytes, int major = 1) {
  std::string file = "\x93NUMPY" + std::string{char(major), '\0'};
  const size_t length = header.size();
  file += {char(length & 0xff), char(length >> 8)};
  if (major == 2) file += {char(length >> 16), char(length >> 24)};
  return file + header + std::string(data_bytes, '\0');
}

std::string write_temp(const std::string& bytes) {
  const std::string path = (temp_dir() / "test.npy").string();
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::vector<int64_t> shape_of(const std::string& header, size_t data_bytes, int major = 1) {
  return read_npy(write_temp(npy_file(header, data_bytes, major))).shape;
}

std::string npy_error(const std::string& header, size_t data_bytes) {
  const std::string path = write_temp(npy_file(header, data_bytes));
  try {
    read_npy(path);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << header << " was accepted";
  return {};
}

#define EXPECT_NPY_ERROR(header, data_bytes, fragment) \
  EXPECT_NE(npy_error(header, data_bytes).find(fragment), std::string::npos) \
      << npy_error(header, data_bytes)

TEST(Npy, RoundTripsThroughTheWriter) {
  const std::vector<float> values = random_floats(2 * 3 * 5);
  const std::string path = (temp_dir() / "round.npy").string();
  write_npy(path, {2, 3, 5}, values.data());
  const NpyArray back = read_npy(path);
  EXPECT_EQ(back.shape, (std::vector<int64_t>{2, 3, 5}));
  EXPECT_EQ(back.values, values);
}

// Header forms numpy's format module writes (and Python 2's long ints).
TEST(Npy, ReadsTheHeaderFormsNumpyWrites) {
  EXPECT_EQ(shape_of("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }   \n", 24),
            (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(shape_of("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }\n", 16, 2),
            (std::vector<int64_t>{4}));
  EXPECT_EQ(shape_of("{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", 8),
            std::vector<int64_t>{});
  EXPECT_EQ(shape_of("{'shape': (3L, 0L), 'fortran_order': False, 'descr': '<f2'}", 0),
            (std::vector<int64_t>{3, 0}));
}

// The header was matched with std::regex, whose executor recurses once per character: a
// 60000-character shape (a version 1.0 header holds up to 65535) overflowed the stack.
TEST(HostileInput, LongNpyHeaderIsParsedWithoutRecursion) {
  std::string ones;
  for (int i = 0; i < 20000; ++i) ones += "1, ";
  const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + ones + "), }";
  ASSERT_LT(header.size(), 65536u);
  EXPECT_EQ(shape_of(header, 4), std::vector<int64_t>(20000, 1));
  EXPECT_NPY_ERROR("{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::string(60000, '7') +
                       ",), }",
                   0, "npy shape has a dimension of 777");
}

TEST(HostileInput, MalformedNumbersAreRefused) {
  const std::string begin = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
  // Read as (2, 3) and accepted before, since the regex took the digits and dropped the sign.
  EXPECT_NPY_ERROR(begin + "(-2, 3), }", 24, "npy shape has a negative dimension");
  EXPECT_NPY_ERROR(begin + "(2, -3), }", 24, "negative dimension");
  EXPECT_NPY_ERROR(begin + "(18446744073709551616,), }", 0, "a dimension of 18446744073709551616");
  EXPECT_NPY_ERROR(begin + "(2199023255553,), }", 0, "at most 1099511627776");
  EXPECT_NPY_ERROR(begin + "(1048576, 1048576, 2), }", 0, "more than 1099511627776 elements");
  for (const char* shape : {"(+3,)", "(3.0,)", "(0x3,)", "(3)", "(3,,)", "(3 4)", "3"}) {
    EXPECT_NPY_ERROR(begin + shape + ", }", 12, "malformed npy header") << shape;
  }
  EXPECT_NPY_ERROR(begin + "(3,), 'shape': (3,)}", 12, "names 'shape' twice");
  EXPECT_NPY_ERROR(begin + "(3,), 'extra': 1}", 12, "unknown key 'extra'");
  EXPECT_NPY_ERROR("{'descr': '<f4', 'shape': (3,)}", 12, "lacks one of");
  EXPECT_NPY_ERROR("{'descr': '<f4x', 'fortran_order': False, 'shape': (3,)}", 12,
                   "dtype '<f4x' is not float16/32/64");
  EXPECT_NPY_ERROR("{'descr': '<f4', 'fortran_order': True, 'shape': (3,)}", 12, "Fortran-order");
  EXPECT_NPY_ERROR("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x", 12,
                   "text after the dict");
  EXPECT_NPY_ERROR(begin + "(3,), }", 8, "holds 8 data bytes, but 3 elements of 4 bytes need 12");
}

}  // namespace
}  // namespace vkseg::test
