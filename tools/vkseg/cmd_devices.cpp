// `vkseg devices`: every Vulkan device with what vkseg detects on it.
#include <fmt/format.h>

#include "commands.hpp"
#include "vkseg/context.hpp"
#include "vkseg/error.hpp"

namespace vkseg::cli {

namespace {

const char* yes_no(bool v) { return v ? "yes" : "no"; }

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\u{:04x}", int(c));
    } else {
      out += c;
    }
  }
  return out;
}

void print_text(const DeviceInfo& d) {
  fmt::print("device {}: {} ({})\n", d.index, d.name, d.type);
  fmt::print("  vendor/device id     {:#06x}/{:#06x}\n", d.vendor_id, d.device_id);
  fmt::print("  Vulkan               {}\n", api_version_string(d.api_version));
  fmt::print("  driver               {} {}\n", d.driver_name, d.driver_info);
  fmt::print("  fp16 storage         {}\n", yes_no(d.fp16_storage));
  fmt::print("  fp16 arithmetic      {}\n", yes_no(d.fp16_arithmetic));
  fmt::print("  int8 arithmetic      {}\n", yes_no(d.int8_arithmetic));
  fmt::print("  subgroup size        {} (min {}, max {}, control {})\n", d.subgroup_size,
             d.min_subgroup_size, d.max_subgroup_size, yes_no(d.subgroup_size_control));
  fmt::print("  shared memory        {} bytes per workgroup\n", d.max_shared_memory_bytes);
  fmt::print("  workgroup            {} invocations, {}x{}x{} groups\n",
             d.max_workgroup_invocations, d.max_workgroup_count[0], d.max_workgroup_count[1],
             d.max_workgroup_count[2]);
  fmt::print("  push constants       {} bytes\n", d.max_push_constant_bytes);
  fmt::print("  storage binding      {} MiB max\n", d.max_storage_buffer_range >> 20);
  fmt::print("  allocation           {} MiB max\n", d.max_allocation_bytes >> 20);
  fmt::print("  device-local memory  {} MiB{}\n", d.device_local_bytes >> 20,
             d.unified_memory ? " (unified with host)" : "");
  fmt::print("  timestamps           {} ({} ns per tick)\n", yes_no(d.timestamps),
             d.timestamp_period_ns);
  fmt::print("  push descriptors     {}\n", yes_no(d.push_descriptors));
  fmt::print("  cooperative matrix   {}{}\n", yes_no(d.cooperative_matrix),
             d.cooperative_matrix_nv ? " (NV extension present)" : "");
}

void print_json(const DeviceInfo& d) {
  fmt::print(
      "{{\"index\": {}, \"name\": \"{}\", \"type\": \"{}\", \"vendor_id\": {}, \"device_id\": {}, "
      "\"vulkan\": \"{}\", \"driver\": \"{}\", \"driver_info\": \"{}\", \"fp16_storage\": {}, "
      "\"fp16_arithmetic\": {}, \"int8_arithmetic\": {}, \"subgroup_size\": {}, "
      "\"min_subgroup_size\": {}, \"max_subgroup_size\": {}, \"shared_memory_bytes\": {}, "
      "\"max_workgroup_invocations\": {}, \"max_storage_buffer_range\": {}, "
      "\"device_local_bytes\": {}, \"unified_memory\": {}, \"timestamps\": {}, "
      "\"timestamp_period_ns\": {}, \"push_descriptors\": {}, \"cooperative_matrix\": {}}}\n",
      d.index, json_escape(d.name), d.type, d.vendor_id, d.device_id,
      api_version_string(d.api_version), json_escape(d.driver_name), json_escape(d.driver_info),
      d.fp16_storage, d.fp16_arithmetic, d.int8_arithmetic, d.subgroup_size, d.min_subgroup_size,
      d.max_subgroup_size, d.max_shared_memory_bytes, d.max_workgroup_invocations,
      d.max_storage_buffer_range, d.device_local_bytes, d.unified_memory, d.timestamps,
      d.timestamp_period_ns, d.push_descriptors, d.cooperative_matrix || d.cooperative_matrix_nv);
}

}  // namespace

int cmd_devices(const std::vector<std::string>& args) {
  bool json = false;
  for (const std::string& a : args) {
    if (a == "--json") {
      json = true;
    } else {
      throw Error(fmt::format("devices: unknown option '{}'", a));
    }
  }
  const std::vector<DeviceInfo> devices = list_devices();
  if (devices.empty()) {
    throw Error("no Vulkan device found; install a Vulkan driver (for the CPU device on Debian: "
                "apt-get install mesa-vulkan-drivers)");
  }
  for (const DeviceInfo& d : devices) json ? print_json(d) : print_text(d);
  return 0;
}

}  // namespace vkseg::cli
