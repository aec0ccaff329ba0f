// The restricted unpickler on hand-assembled pickles: the torch opcode forms it must understand,
// the globals it must refuse, and malformed or hostile streams that must end in a one-line
// vkseg::Error instead of a crash or runaway allocation.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "io/pickle.hpp"
#include "vkseg/error.hpp"

namespace vkseg::test {
namespace {

using namespace std::string_literals;  // pickles hold NUL bytes

using io::PickleRef;

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

PickleRef parse(const std::string& text) {
  const std::vector<uint8_t> bytes = bytes_of(text);
  size_t position = 0;
  PickleRef value = io::unpickle(bytes, position);
  EXPECT_EQ(position, bytes.size());
  return value;
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  ADD_FAILURE() << "pickle was accepted";
  return {};
}

#define EXPECT_PICKLE_ERROR(text, fragment) \
  EXPECT_NE(error_of(text).find(fragment), std::string::npos) << error_of(text)

std::string u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string unicode(const std::string& s) { return "X" + u32(uint32_t(s.size())) + s; }

// The fcn.md §5.3 shape: OrderedDict of one tensor made by _rebuild_tensor_v2, with memo use,
// BUILD of _metadata, and a shared storage referenced twice.
const std::string kStateDict =
    std::string("\x80\x02") + "ccollections\nOrderedDict\nq\x00)R"s + "(" + unicode("conv.weight") +
    "ctorch._utils\n_rebuild_tensor_v2\nq\x01" + "((" + unicode("storage") +
    "ctorch\nHalfStorage\n" + unicode("7") + unicode("cpu") + "K\x30tQ" + "K\x02" +
    "K\x02K\x03\x86" + "K\x01K\x02\x86" + "\x89h\x00)R"s + "tR" + unicode("conv.bias") + "h\x01((" +
    unicode("storage") + "ctorch\nHalfStorage\n" + unicode("7") + unicode("cpu") +
    "K\x30tQK\x05K\x03\x85K\x01\x85\x89}tR" + "u}" + unicode("_metadata") + "}sb.";

TEST(Pickle, ParsesATorchStateDict) {
  const PickleRef value = parse(kStateDict);
  const auto& dict = std::get<io::PickleDict>(value->data);
  ASSERT_EQ(dict.entries.size(), 2u);
  EXPECT_EQ(std::get<io::PickleString>(dict.entries[0].first->data).text, "conv.weight");
  const auto& weight = std::get<io::TorchTensor>(dict.entries[0].second->data);
  EXPECT_EQ(weight.storage.key, "7");
  EXPECT_EQ(weight.storage.dtype, io::DType::Float16);
  EXPECT_EQ(weight.storage.numel, 48);
  EXPECT_EQ(weight.storage_offset, 2);
  EXPECT_EQ(weight.sizes, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(weight.strides, (std::vector<int64_t>{1, 2}));
  const auto& bias = std::get<io::TorchTensor>(dict.entries[1].second->data);
  EXPECT_EQ(bias.storage_offset, 5);
  EXPECT_EQ(bias.sizes, (std::vector<int64_t>{3}));
}

TEST(Pickle, ParsesScalarsAndContainers) {
  // {1: [True, None, -2, 2**40, 0.5, b"hi"], "k": ("a",)}, then SETITEM "k" again: last wins.
  const std::string text = std::string("\x80\x02}q\x00(K\x01]q\x01(\x88NJ\xfe\xff\xff\xff"s) +
                           "\x8a\x06\x00\x00\x00\x00\x00\x01"s +
                           "G\x3f\xe0\x00\x00\x00\x00\x00\x00"s + "C\x02hi" + "e" + unicode("k") +
                           "\x8c\x01" + "a\x85u" + unicode("k") + "K\x09s.";
  const PickleRef value = parse(text);
  const auto& dict = std::get<io::PickleDict>(value->data);
  ASSERT_EQ(dict.entries.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(dict.entries[0].first->data), 1);
  const auto& list = std::get<io::PickleList>(dict.entries[0].second->data).items;
  ASSERT_EQ(list.size(), 6u);
  EXPECT_TRUE(std::get<bool>(list[0]->data));
  EXPECT_TRUE(std::holds_alternative<io::PickleNone>(list[1]->data));
  EXPECT_EQ(std::get<int64_t>(list[2]->data), -2);
  EXPECT_EQ(std::get<int64_t>(list[3]->data), int64_t(1) << 40);
  EXPECT_EQ(std::get<double>(list[4]->data), 0.5);
  EXPECT_EQ(std::get<io::PickleBytes>(list[5]->data).bytes, "hi");
  ASSERT_NE(dict.find("k"), nullptr);
  EXPECT_EQ(std::get<int64_t>(dict.find("k")->data), 9);
}

TEST(Pickle, Protocol4FramesAndStackGlobal) {
  const std::string body =
      std::string("\x8c\x0b") + "collections" + "\x94\x8c\x0bOrderedDict\x94\x93\x94)R\x94.";
  std::string frame_length(8, '\0');
  frame_length[0] = char(body.size());
  const PickleRef value = parse(std::string("\x80\x04\x95") + frame_length + body);
  EXPECT_TRUE(std::holds_alternative<io::PickleDict>(value->data));
}

TEST(Pickle, RefusesGlobalsOnlyAnAttackNames) {
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "cos\nsystem\n"
      "X\x04\x00\x00\x00"s
      "echo\x85R.",
      "forbidden pickle global 'os.system'");
  EXPECT_PICKLE_ERROR(
      "\x80\x04\x8c\x08"
      "builtins\x8c\x04"
      "eval\x93.",
      "forbidden pickle global 'builtins.eval'");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "csubprocess\nPopen\n.",
      "forbidden pickle global 'subprocess.Popen'");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "cos.path\njoin\n.",
      "forbidden pickle global 'os.path.join'");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "ctorch\nload\n.",
      "'torch.load'");
  // Allowed names used in a way no checkpoint does are refused too.
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "ctorch\nFloatStorage\n)R.",
      "unsupported call of 'torch.FloatStorage'");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "ctorch._utils\n_rebuild_tensor_v2\n)R.",
      "unsupported call");
}

// What is not a tensor is read as inert data: the class or function, its arguments, and the
// state BUILD would set, so numpy scalars, devices and whole nn.Modules load without running.
TEST(Pickle, OtherClassesBecomeInertObjects) {
  // numpy.core.multiarray.scalar(dtype, bytes), as np.float64 pickles.
  const PickleRef scalar = parse(
      "\x80\x02"
      "cnumpy.core.multiarray\nscalar\n"
      "cnumpy\ndtype\nX\x02\x00\x00\x00" "f8\x89\x88\x87R"
      "(K\x03X\x01\x00\x00\x00<NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
      "C\x08\x00\x00\x00\x00\x00\x00\xf0?\x86R."s);
  const auto* object = std::get_if<io::PickleObject>(&scalar->data);
  ASSERT_TRUE(object);
  EXPECT_EQ(object->callable.module, "numpy.core.multiarray");
  EXPECT_EQ(object->callable.name, "scalar");
  ASSERT_EQ(object->args.size(), 2u);
  const auto* dtype = std::get_if<io::PickleObject>(&object->args[0]->data);
  ASSERT_TRUE(dtype);
  EXPECT_TRUE(dtype->state);  // the dtype's BUILD state tuple
  // cls.__new__(cls) then BUILD {"p": 0.5}: a module-like object with its __dict__.
  const PickleRef module = parse(
      "\x80\x02"
      "c__main__\nNet\n)\x81}X\x01\x00\x00\x00pG?\xe0\x00\x00\x00\x00\x00\x00sb."s);
  const auto* net = std::get_if<io::PickleObject>(&module->data);
  ASSERT_TRUE(net && net->state);
  EXPECT_EQ(net->callable.name, "Net");
  const auto* state = std::get_if<io::PickleDict>(&net->state->data);
  ASSERT_TRUE(state && state->find("p"));
  EXPECT_EQ(std::get<double>(state->find("p")->data), 0.5);
  // An object whose state holds the object itself cannot be built.
  EXPECT_PICKLE_ERROR("\x80\x02" "c__main__\nNet\n)\x81q\x00}X\x01\x00\x00\x00sh\x00sb."s,
                      "already in use");
}

TEST(Pickle, RefusesMalformedStreams) {
  EXPECT_PICKLE_ERROR("", "truncated");
  EXPECT_PICKLE_ERROR("\x80\x02K", "truncated");
  EXPECT_PICKLE_ERROR(
      "\x80\x02X\xff\xff\xff\xff"
      "abc.",
      "truncated");  // huge length, no alloc
  EXPECT_PICKLE_ERROR("\x80\x02\x8d\xff\xff\xff\xff\xff\xff\xff\xff.", "truncated");
  EXPECT_PICKLE_ERROR("\x80\x02\xff.", "unsupported pickle opcode 0xff");
  EXPECT_PICKLE_ERROR("\x80\x01N.", "unsupported pickle protocol 1");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "0.",
      "stack underflow");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "(0.",
      "stack underflow");  // a MARK is not a value
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "t.",
      "MARK missing");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "h\x05.",
      "memo index 5 not defined");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "NN.",
      "unbalanced stack");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      ".",
      "unbalanced stack");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "NK\x01"
      "a.",
      "APPEND to a None");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "]NNs.",
      "SETITEM on a list");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "}](N.",
      "unbalanced stack");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "}(K\x01u.",
      "odd number");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "}]K\x01s.",
      "unsupported dict key type list");
  EXPECT_PICKLE_ERROR(
      "\x80\x02\x8a\x09"
      "123456789.",
      "wider than 64 bits");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "(" +
          unicode("storage") + "NK\x01tQ.",
      "persistent id");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "(" +
          unicode("module") + "tQ.",
      "not a storage");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "(" +
          unicode("storage") + "ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu") +
          "K\x01(K\x01K\x00K\x01ttQ."s,
      "legacy storage views are not supported");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "N}b.",
      "BUILD on a None");
  EXPECT_PICKLE_ERROR(
      "\x80\x02"
      "K\x01}b.",
      "BUILD on a int");
}

TEST(Pickle, EveryTruncationOfAValidPickleFails) {
  for (size_t length = 0; length < kStateDict.size(); ++length) {
    SCOPED_TRACE(length);
    EXPECT_THROW(parse(kStateDict.substr(0, length)), Error);
  }
}

TEST(Pickle, BoundsNestingAndRefusesCycles) {
  EXPECT_PICKLE_ERROR("\x80\x02" + std::string(300, '(') + ".", "MARKs nested too deeply");
  // Each step wraps the previous list in a new one: depth grows by one per 6 bytes.
  std::string deep = "\x80\x02]q\x00"s;
  for (int i = 0; i < 200; ++i)
    deep +=
        "]h\x00"s
        "aq\x00"s;
  EXPECT_PICKLE_ERROR(deep + ".", "nested deeper than 100");
  // Tuples and dicts nest through other opcodes (TUPLE1, SETITEM) under the same bound.
  EXPECT_PICKLE_ERROR("\x80\x02N" + std::string(200, '\x85') + ".", "nested deeper than 100");
  std::string deep_dict = "\x80\x02}q\x00"s;  // each step stores the previous dict in a new one
  for (int i = 0; i < 200; ++i) deep_dict += "}" + unicode("k") + "h\x00sq\x00"s;
  EXPECT_PICKLE_ERROR(deep_dict + ".", "nested deeper than 100");
  EXPECT_PICKLE_ERROR(
      "\x80\x02]q\x00h\x00"s
      "a.",
      "recursive");
  EXPECT_PICKLE_ERROR("\x80\x02}q\x00"s + unicode("self") + "h\x00s."s, "recursive");
  // Changing a list after it went into another one could build a cycle; it is refused.
  EXPECT_PICKLE_ERROR(
      "\x80\x02]q\x00]h\x00"s
      "a0h\x00K\x01"s
      "a.",
      "already nested");
}

TEST(Pickle, BoundsTheValuesItBuilds) {
  // A list of 2^20 + 1 Nones (one byte each): refused once the values pass the cap, where each
  // value would otherwise cost hundreds of bytes of memory.
  EXPECT_PICKLE_ERROR("\x80\x02](" + std::string((size_t(1) << 20) + 1, 'N') + "e.",
                      "more than 1048576 values");
}

// Random opcode soup: any outcome but a crash or a foreign exception is fine.
TEST(Pickle, SurvivesRandomOpcodeStreams) {
  const std::string alphabet =
      "()0122NKMJGXCTUtlae]}dusqhjbR\x85\x86\x87\x88\x89\x8a\x8c\x93\x94\x95Q";
  std::mt19937 rng(99);
  for (int trial = 0; trial < 20000; ++trial) {
    std::string text = "\x80\x02";
    const int length = 1 + int(rng() % 40);
    for (int i = 0; i < length; ++i) {
      text += rng() % 4 ? alphabet[rng() % alphabet.size()] : char(rng() % 8);
    }
    if (rng() % 2) text += '.';
    const std::vector<uint8_t> bytes = bytes_of(text);
    size_t position = 0;
    try {
      io::unpickle(bytes, position);
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace vkseg::test
