// stb_image compiled from Debian's libstb-dev header (the source of the libstb the library links),
// so the sanitizers and libFuzzer's coverage see inside the decoder too.
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
