/* Segments one image with vkseg's C API and writes the label mask as a palette PNG (the model's
 * class colours), then prints how many pixels each class got.
 *
 *   example_c_segment MODEL IMAGE MASK.png [--force]
 *
 * VKSEG_VALIDATION=1 turns the Vulkan validation layer on; any message it reports makes the
 * exit status non-zero. */
#define _POSIX_C_SOURCE 200809L /* fdopen, fsync, link */

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vkseg/vkseg.h>

/* What main() releases, whatever step failed. */
typedef struct resources {
  vkseg_model* model;
  vkseg_context* context;
  vkseg_network* network;
  vkseg_segmenter* segmenter;
  uint8_t* rgb;
  uint32_t* labels;
} resources;

static void release(resources* r) {
  free(r->labels);
  vkseg_image_free(r->rgb);
  vkseg_segmenter_destroy(r->segmenter);
  vkseg_network_destroy(r->network);
  vkseg_context_destroy(r->context);
  vkseg_model_destroy(r->model);
}

/* Prints the call's failure; returns non-zero when it failed. */
static int failed(vkseg_status status, const char* what) {
  if (status == VKSEG_OK) return 0;
  fprintf(stderr, "example_c_segment: %s: %s\n", what, vkseg_last_error());
  return 1;
}

/* Writes `indices` as a palette PNG to a temporary file created exclusively beside `path`, then
 * moves it to `path`: readers never see half a file, and without `overwrite` an existing `path`
 * is never replaced (link() fails if the name exists, atomically). Returns 0 on success. */
static int write_mask(const char* path, int overwrite, const uint8_t* indices, uint32_t width,
                      uint32_t height, const png_byte* palette, uint32_t colors) {
  char temp[4096];
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    if (snprintf(temp, sizeof temp, "%s.%ld.%d.tmp", path, (long)getpid(), attempt) >=
        (int)sizeof temp) {
      fprintf(stderr, "example_c_segment: the output path is too long\n");
      return 1;
    }
    fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) {
    fprintf(stderr, "example_c_segment: cannot create a temporary file beside %s: %s\n", path,
            strerror(errno));
    return 1;
  }
  FILE* file = fdopen(fd, "wb");
  if (!file) {
    fprintf(stderr, "example_c_segment: cannot write %s: %s\n", temp, strerror(errno));
    close(fd);
    unlink(temp);
    return 1;
  }
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = PNG_FORMAT_RGB_COLORMAP;
  image.colormap_entries = colors;
  const int encoded = png_image_write_to_stdio(&image, file, 0, indices, 0, palette);
  const int synced = encoded && fflush(file) == 0 && fsync(fileno(file)) == 0;
  const char* problem = encoded ? strerror(errno) : image.message;
  const int closed = fclose(file) == 0;
  if (synced && !closed) problem = strerror(errno);
  int moved = 0;
  if (synced && closed) {
    moved = overwrite ? rename(temp, path) == 0 : link(temp, path) == 0;
    if (!moved) {
      problem = errno == EEXIST ? "it exists; pass --force to overwrite it" : strerror(errno);
    }
  }
  if (!(moved && overwrite)) unlink(temp); /* after link() the file stays at `path` */
  if (!moved) fprintf(stderr, "example_c_segment: cannot write %s: %s\n", path, problem);
  return !moved;
}

int main(int argc, char** argv) {
  if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "--force") != 0)) {
    fprintf(stderr, "usage: example_c_segment MODEL IMAGE MASK.png [--force]\n");
    return 2;
  }
  const char* mask_path = argv[3];
  const int overwrite = argc == 5;
  struct stat existing;
  if (!overwrite && lstat(mask_path, &existing) == 0) {
    fprintf(stderr, "example_c_segment: %s exists; pass --force to overwrite it\n", mask_path);
    return 1;
  }

  resources r = {0};
  uint32_t width = 0, height = 0, classes = 0;
  vkseg_context_options options;
  vkseg_context_options_init(&options);
  if (failed(vkseg_model_load(argv[1], &r.model), "loading the model") ||
      failed(vkseg_model_class_count(r.model, &classes), "reading the classes") ||
      failed(vkseg_image_load(argv[2], &r.rgb, &width, &height), "reading the image") ||
      failed(vkseg_context_create(&options, &r.context), "creating the Vulkan context") ||
      failed(vkseg_network_create(r.context, r.model, VKSEG_PRECISION_FP32, &r.network),
             "creating the network") ||
      failed(vkseg_segmenter_create(r.network, &r.segmenter), "creating the segmenter")) {
    release(&r);
    return 1;
  }
  if (classes > 256) {
    fprintf(stderr, "example_c_segment: %u classes do not fit an 8-bit PNG\n", classes);
    release(&r);
    return 1;
  }
  const size_t pixels = (size_t)width * height;
  r.labels = malloc(pixels * sizeof *r.labels);
  uint64_t non_finite = 0;
  if (!r.labels) {
    fprintf(stderr, "example_c_segment: out of memory for %zu labels\n", pixels);
    release(&r);
    return 1;
  }
  if (failed(vkseg_segmenter_segment(r.segmenter, r.rgb, width, height, r.labels, pixels,
                                     &non_finite),
             "segmenting")) {
    release(&r);
    return 1;
  }
  if (non_finite) {
    fprintf(stderr, "example_c_segment: %llu pixels scored NaN or infinite; no mask written\n",
            (unsigned long long)non_finite);
    release(&r);
    return 1;
  }

  /* The labels become the PNG's palette indices in place (each uint32 to its low byte). */
  uint8_t* indices = (uint8_t*)r.labels;
  uint64_t counts[256] = {0};
  for (size_t i = 0; i < pixels; ++i) {
    const uint32_t label = r.labels[i];
    if (label >= classes) {
      fprintf(stderr, "example_c_segment: label %u is not a class of the model\n", label);
      release(&r);
      return 1;
    }
    ++counts[label];
    indices[i] = (uint8_t)label;
  }
  png_byte palette[256 * 3];
  for (uint32_t c = 0; c < classes; ++c) vkseg_model_class_color(r.model, c, palette + 3 * c);
  int status = write_mask(mask_path, overwrite, indices, width, height, palette, classes);

  if (status == 0) {
    printf("%s (%ux%u) -> %s\n", argv[2], width, height, mask_path);
    for (uint32_t c = 0; c < classes; ++c) {
      const char* name = "";
      vkseg_model_class_name(r.model, c, &name);
      if (counts[c]) printf("  %10llu  %s\n", (unsigned long long)counts[c], name);
    }
  }
  uint64_t messages = 0;
  vkseg_context_validation_message_count(r.context, &messages);
  if (messages) {
    fprintf(stderr, "example_c_segment: the validation layer reported %llu messages\n",
            (unsigned long long)messages);
    status = 1;
  }
  release(&r);
  return status;
}
