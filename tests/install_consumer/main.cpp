// Segments one image with an installed vkseg (the C++ API, and the C API's image reader) and
// writes the labels as an 8-bit PGM, which tests/packaging_test.sh compares with `vkseg segment`'s
// mask.
//
//   consumer MODEL IMAGE LABELS.pgm
#include <vkseg/segment.hpp>
#include <vkseg/vkseg.h>

#include <cstdio>
#include <fstream>
#include <memory>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: consumer MODEL IMAGE LABELS.pgm\n");
    return 2;
  }
  uint8_t* pixels = nullptr;
  uint32_t width = 0, height = 0;
  if (vkseg_image_load(argv[2], &pixels, &width, &height) != VKSEG_OK) {
    std::fprintf(stderr, "consumer: %s\n", vkseg_last_error());
    return 1;
  }
  const std::unique_ptr<uint8_t, void (*)(uint8_t*)> rgb(pixels, vkseg_image_free);
  try {
    vkseg::Context context;
    const vkseg::Model model = vkseg::Model::load(argv[1]);
    vkseg::Network network(context, model);
    vkseg::Segmenter segmenter(network);
    const vkseg::LabelMap map = segmenter.segment(rgb.get(), width, height);
    std::ofstream out(argv[3], std::ios::binary);
    out << "P5\n" << map.width << " " << map.height << "\n255\n";
    for (const uint32_t label : map.labels) out.put(char(label));
    if (!out.flush()) {
      std::fprintf(stderr, "consumer: cannot write %s\n", argv[3]);
      return 1;
    }
    std::printf("%s: %ux%u labels, %s\n", argv[2], map.width, map.height, vkseg_version());
  } catch (const vkseg::Error& e) {
    std::fprintf(stderr, "consumer: %s\n", e.what());
    return 1;
  }
  return 0;
}
