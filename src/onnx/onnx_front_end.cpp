#include "onnx/onnx_front_end.hpp"

#include <fmt/format.h>

#include "io/file_io.hpp"
#include "onnx/converter.hpp"
#include "onnx/onnx_file.hpp"
#include "vkseg/text.hpp"

namespace vkseg::onnx {

detail::ModelData build_onnx(const std::string& path, const ConvertOptions& options) {
  return build_onnx(read_onnx(path), path, options);
}

detail::ModelData build_onnx(ModelFile file, const std::string& source,
                             const ConvertOptions& options) {
  return io::with_path_in_errors(source, [&] {
    if (options.arch != "auto") {
      throw Error(fmt::format("--arch {} names a PyTorch front end; ONNX files are converted by "
                              "their graph, without --arch",
                              printable(options.arch)));
    }
    const int64_t opset = file.opset;
    const std::string producer = file.producer;
    detail::ModelData model = Converter(std::move(file)).convert();
    model.arch = "onnx";
    model.notes.insert(model.notes.begin(),
                       fmt::format("ONNX opset {} from '{}'; ONNX stores no preprocessing: assumed "
                                   "torchvision's (RGB / 255, ImageNet mean and std; --mean, --std, "
                                   "--scale and --bgr set others)",
                                   opset, printable(producer)));
    detail::finish_model(model, options.num_classes, "network");
    return model;
  });
}

}  // namespace vkseg::onnx
