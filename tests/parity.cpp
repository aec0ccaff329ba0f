#include "parity.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

#include "graph/model_data.hpp"
#include "io/checkpoint.hpp"
#include "vkseg/npy.hpp"

namespace vkseg::test {

namespace fs = std::filesystem;

fs::path fixture_dir(const std::string& sub) {
  const char* root = std::getenv("VKSEG_FIXTURES");
  const fs::path dir = fs::path(root ? root : "") / sub;
  if (!root || !fs::exists(dir)) {
    ADD_FAILURE() << "fixtures missing: run the make_*_fixtures tests first (VKSEG_FIXTURES="
                  << (root ? root : "unset") << ")";
  }
  return dir;
}

fs::path convert_fcn(const std::string& checkpoint, const std::string& model_name,
                     ConvertOptions options, const std::string& dtype) {
  detail::ModelData model =
      graph::build_fcn(io::read_checkpoint((fixture_dir() / checkpoint).string()), options);
  model.weight_dtype = dtype;
  const fs::path out = temp_dir() / model_name;
  detail::save_model(model, out.string());
  return out;
}

Agreement run_and_compare(const Model& model, const std::string& input, const std::string& expected,
                          Precision precision, Context& ctx, const fs::path& dir) {
  const NpyArray x = read_npy((dir / input).string());
  const NpyArray ref = read_npy((dir / expected).string());
  Network network(ctx, model, precision);
  Session session(network, uint32_t(x.shape[0]), uint32_t(x.shape[2]), uint32_t(x.shape[3]));
  const Shape4 out = session.output_shape();
  EXPECT_EQ(std::vector<int64_t>(out.begin(), out.end()), ref.shape);
  if (std::vector<int64_t>(out.begin(), out.end()) != ref.shape) return {1e30, 0, 0};
  std::vector<float> logits(ref.values.size());
  session.run(x.values.data(), logits.data());

  double mean = 0, var = 0, max_error = 0;
  for (float v : ref.values) mean += v;
  mean /= double(ref.values.size());
  for (size_t i = 0; i < ref.values.size(); ++i) {
    var += (ref.values[i] - mean) * (ref.values[i] - mean);
    const double error = std::fabs(double(logits[i]) - ref.values[i]);
    max_error = std::isnan(error) ? INFINITY : std::max(max_error, error);
  }
  const double std_dev = std::sqrt(var / double(ref.values.size()));
  // Argmax over classes at every pixel of every batch item.
  const size_t classes = out[1], plane = size_t(out[2]) * out[3];
  const double tie = k_max_error_over_std * std_dev;
  size_t same = 0, tied = 0, pixels = 0;
  for (size_t n = 0; n < out[0]; ++n) {
    for (size_t p = 0; p < plane; ++p, ++pixels) {
      auto at = [&](size_t c) { return (n * classes + c) * plane + p; };
      size_t best_a = 0, best_r = 0;
      for (size_t c = 1; c < classes; ++c) {
        if (logits[at(c)] > logits[at(best_a)]) best_a = c;
        if (ref.values[at(c)] > ref.values[at(best_r)]) best_r = c;
      }
      same += best_a == best_r;
      tied += best_a != best_r && ref.values[at(best_r)] - ref.values[at(best_a)] <= tie;
    }
  }
  Agreement a{max_error / std_dev, double(same + tied) / double(pixels),
              double(same) / double(pixels)};
  std::cout << fmt::format("  {} {} vs {}: max |error| = {:.3g} ({:.3g} of std {:.3g}), argmax "
                           "agreement {:.4f}% ({} ties of {} pixels; strictly {:.4f}%)\n",
                           precision_name(precision), input, expected, max_error,
                           a.max_error_over_std, std_dev, 100 * a.argmax_agreement, tied, pixels,
                           100 * a.strict_argmax_agreement);
  return a;
}

void expect_parity(const Model& model, const std::string& input, const std::string& expected,
                   Precision precision, const fs::path& dir) {
  const Agreement a = run_and_compare(model, input, expected, precision, context(), dir);
  if (precision == Precision::Fp32) {
    EXPECT_LE(a.max_error_over_std, k_max_error_over_std) << expected;
    EXPECT_GE(a.argmax_agreement, k_fp32_agreement) << expected;
  } else {
    EXPECT_GE(a.argmax_agreement, k_fp16_agreement) << expected;
  }
}

}  // namespace vkseg::test
