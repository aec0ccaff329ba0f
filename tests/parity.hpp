#pragma once
// Shared by the suites that compare converted checkpoints with PyTorch's own outputs (written by
// the tests/fixtures scripts). Tolerances (issue 3, kept by every front end): fp32 max |error| <=
// 1e-3 of the reference's standard deviation and argmax agreement >= 99.99%; fp16 >= 99.5%.
// Random networks leave a few pixels whose two best classes PyTorch itself scores within
// rounding of each other: a pixel where vkseg's class scores within 1e-3 of the standard
// deviation of PyTorch's best (the error bound above) is a tie and counts as agreeing. Both the
// strict and the tie-aware agreement are printed.
#include <filesystem>
#include <string>

#include "graph/fcn_builder.hpp"
#include "harness.hpp"
#include "vkseg/model.hpp"

namespace vkseg::test {

constexpr double k_max_error_over_std = 1e-3;
constexpr double k_fp32_agreement = 0.9999;
constexpr double k_fp16_agreement = 0.995;

// VKSEG_FIXTURES/<sub>, failing the test when the fixtures were not written.
std::filesystem::path fixture_dir(const std::string& sub = "fcn");

// Converts fixture `checkpoint` (in fixture_dir()) with the FCN front end into the test's
// directory, as `model_name`.
std::filesystem::path convert_fcn(const std::string& checkpoint, const std::string& model_name,
                                  ConvertOptions options = {},
                                  const std::string& dtype = "fp32");

struct Agreement {
  double max_error_over_std = 0;
  double argmax_agreement = 0;         // ties counted as agreeing
  double strict_argmax_agreement = 0;  // every differing argmax counted
};

// Runs the model on fixture input `input` (an .npy in `dir`) and compares with PyTorch's output
// `expected`; prints both figures.
Agreement run_and_compare(const Model& model, const std::string& input, const std::string& expected,
                          Precision precision = Precision::Fp32, Context& ctx = context(),
                          const std::filesystem::path& dir = fixture_dir());

// run_and_compare, expecting the fp32 or fp16 tolerances.
void expect_parity(const Model& model, const std::string& input, const std::string& expected,
                   Precision precision = Precision::Fp32,
                   const std::filesystem::path& dir = fixture_dir());

}  // namespace vkseg::test
