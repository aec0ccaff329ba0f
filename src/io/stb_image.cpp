// stb_image compiled here from Debian's libstb-dev header with only the formats vkseg reads
// through it: PNG and BMP (JPEGs go to libjpeg-turbo). Debian's prebuilt libstb decodes every
// stb format, and fuzzing found undefined behaviour in several decoders of its version 2.27
// (JPEG, PNM); formats that are not compiled in cannot be reached by a hostile file.
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>
