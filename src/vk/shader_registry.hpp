#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

namespace vkseg::vk {

// One shader compiled at build time (see cmake/Shaders.cmake).
struct EmbeddedShader {
  const char* name;
  const uint32_t* words;
  size_t word_count;
};

std::span<const EmbeddedShader> embedded_shaders();

}  // namespace vkseg::vk
