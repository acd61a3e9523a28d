// Node binding over codecs/common/ks_codec.c, linked against Debian's
// libJerasure. Buffers are used in place: encode reads the caller's data
// shards and writes the caller's parity shards, no copies. The async forms run
// on the libuv thread pool and keep the buffers referenced until they finish.
#include <napi.h>

#include <string>
#include <vector>

#include "ks_codec.h"
#include "ks_crc.h"

namespace {

const char *StatusCode(int rc) {
  switch (rc) {
    case KS_EPARAMS: return "ERR_CODEC_PARAMS";
    case KS_ENOMEM: return "ERR_CODEC_NOMEM";
    case KS_ESIZE: return "ERR_CODEC_SHARD_SIZE";
    case KS_EERASURES: return "ERR_CODEC_TOO_MANY_ERASURES";
    case KS_EDECODE: return "ERR_CODEC_DECODE";
    default: return "ERR_CODEC";
  }
}

Napi::Error StatusError(Napi::Env env, int rc) {
  Napi::Error err = Napi::Error::New(env, std::string("jerasure: ") + StatusCode(rc));
  err.Set("code", Napi::String::New(env, StatusCode(rc)));
  err.Set("status", Napi::Number::New(env, rc));
  return err;
}

// Collects the data pointers of an array of Buffers/Uint8Arrays, all of
// exactly `size` bytes. Returns false (with a JS exception pending) otherwise.
bool CollectPointers(Napi::Env env, Napi::Value v, size_t expected, size_t *size,
                     std::vector<char *> *out) {
  if (!v.IsArray()) {
    Napi::TypeError::New(env, "expected an array of buffers").ThrowAsJavaScriptException();
    return false;
  }
  Napi::Array arr = v.As<Napi::Array>();
  if (arr.Length() != expected) {
    Napi::TypeError::New(env, "wrong number of shards").ThrowAsJavaScriptException();
    return false;
  }
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value item = arr.Get(i);
    if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(env, "shards must be Uint8Arrays").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Uint8Array u8 = item.As<Napi::Uint8Array>();
    if (*size == 0) *size = u8.ByteLength();
    if (u8.ByteLength() != *size) {
      Napi::TypeError::New(env, "shards differ in size").ThrowAsJavaScriptException();
      return false;
    }
    out->push_back(reinterpret_cast<char *>(u8.Data()));
  }
  return true;
}

class Codec;

// One encode or decode on the thread pool. Holds references to the arrays so
// that the buffers outlive the work.
class CodecWork : public Napi::AsyncWorker {
 public:
  CodecWork(Napi::Env env, const ks_codec *codec, Napi::Object owner, std::vector<char *> ptrs,
            std::vector<int> erased, int size, bool decode, Napi::Value a, Napi::Value b)
      : Napi::AsyncWorker(env, "kintsugi:jerasure"),
        deferred_(Napi::Promise::Deferred::New(env)),
        codec_(codec), ptrs_(std::move(ptrs)), erased_(std::move(erased)),
        size_(size), decode_(decode) {
    owner_ = Napi::Persistent(owner);
    keep_a_ = Napi::Persistent(a.As<Napi::Object>());
    if (b.IsObject()) keep_b_ = Napi::Persistent(b.As<Napi::Object>());
  }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    if (decode_) {
      rc_ = ks_decode(codec_, ptrs_.data(), erased_.data(), (int)erased_.size(), size_);
    } else {
      int k = (int)ptrs_.size() - m_;
      rc_ = ks_encode(codec_, ptrs_.data(), ptrs_.data() + k, size_);
    }
  }

  void OnOK() override {
    if (rc_ == KS_OK) deferred_.Resolve(Env().Undefined());
    else deferred_.Reject(StatusError(Env(), rc_).Value());
  }

  void OnError(const Napi::Error &e) override { deferred_.Reject(e.Value()); }

  int m_ = 0;

 private:
  Napi::Promise::Deferred deferred_;
  const ks_codec *codec_;
  std::vector<char *> ptrs_;
  std::vector<int> erased_;
  int size_;
  bool decode_;
  int rc_ = KS_OK;
  Napi::ObjectReference owner_, keep_a_, keep_b_;
};

class Codec : public Napi::ObjectWrap<Codec> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeJerasure",
                       {InstanceAccessor<&Codec::Alignment>("alignment"),
                        InstanceMethod<&Codec::Encode>("encode"),
                        InstanceMethod<&Codec::EncodeAsync>("encodeAsync"),
                        InstanceMethod<&Codec::Decode>("decode"),
                        InstanceMethod<&Codec::DecodeAsync>("decodeAsync")});
  }

  // new NativeJerasure(k, m, w, technique, packetSize)
  explicit Codec(const Napi::CallbackInfo &info) : Napi::ObjectWrap<Codec>(info) {
    Napi::Env env = info.Env();
    for (int i = 0; i < 5; i++) {
      if (!info[i].IsNumber()) {
        Napi::TypeError::New(env, "expected (k, m, w, technique, packetSize)").ThrowAsJavaScriptException();
        return;
      }
    }
    k_ = info[0].As<Napi::Number>().Int32Value();
    m_ = info[1].As<Napi::Number>().Int32Value();
    int rc = ks_codec_new(k_, m_, info[2].As<Napi::Number>().Int32Value(),
                          info[3].As<Napi::Number>().Int32Value(),
                          info[4].As<Napi::Number>().Int32Value(), &codec_);
    if (rc != KS_OK) StatusError(env, rc).ThrowAsJavaScriptException();
  }

  ~Codec() override { ks_codec_free(codec_); }

 private:
  Napi::Value Alignment(const Napi::CallbackInfo &info) {
    return Napi::Number::New(info.Env(), codec_ ? ks_codec_alignment(codec_) : 0);
  }

  // Gathers data+parity pointers for encode: (data[k], parity[m]).
  bool EncodeArgs(const Napi::CallbackInfo &info, std::vector<char *> *ptrs, int *size) {
    size_t sz = 0;
    if (!CollectPointers(info.Env(), info[0], k_, &sz, ptrs)) return false;
    if (!CollectPointers(info.Env(), info[1], m_, &sz, ptrs)) return false;
    *size = (int)sz;
    return true;
  }

  // Gathers shard pointers and erased indexes for decode: (shards[k+m], erased[]).
  bool DecodeArgs(const Napi::CallbackInfo &info, std::vector<char *> *ptrs,
                  std::vector<int> *erased, int *size) {
    size_t sz = 0;
    if (!CollectPointers(info.Env(), info[0], k_ + m_, &sz, ptrs)) return false;
    if (!info[1].IsArray()) {
      Napi::TypeError::New(info.Env(), "expected an array of erased indexes").ThrowAsJavaScriptException();
      return false;
    }
    Napi::Array arr = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) erased->push_back(arr.Get(i).ToNumber().Int32Value());
    *size = (int)sz;
    return true;
  }

  Napi::Value Encode(const Napi::CallbackInfo &info) {
    std::vector<char *> ptrs;
    int size;
    if (!EncodeArgs(info, &ptrs, &size)) return info.Env().Undefined();
    int rc = ks_encode(codec_, ptrs.data(), ptrs.data() + k_, size);
    if (rc != KS_OK) StatusError(info.Env(), rc).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }

  Napi::Value Decode(const Napi::CallbackInfo &info) {
    std::vector<char *> ptrs;
    std::vector<int> erased;
    int size;
    if (!DecodeArgs(info, &ptrs, &erased, &size)) return info.Env().Undefined();
    int rc = ks_decode(codec_, ptrs.data(), erased.data(), (int)erased.size(), size);
    if (rc != KS_OK) StatusError(info.Env(), rc).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }

  Napi::Value EncodeAsync(const Napi::CallbackInfo &info) {
    std::vector<char *> ptrs;
    int size;
    if (!EncodeArgs(info, &ptrs, &size)) return info.Env().Undefined();
    auto *work = new CodecWork(info.Env(), codec_, Value(), std::move(ptrs), {}, size, false,
                               info[0], info[1]);
    work->m_ = m_;
    Napi::Promise p = work->Promise();
    work->Queue();
    return p;
  }

  Napi::Value DecodeAsync(const Napi::CallbackInfo &info) {
    std::vector<char *> ptrs;
    std::vector<int> erased;
    int size;
    if (!DecodeArgs(info, &ptrs, &erased, &size)) return info.Env().Undefined();
    auto *work = new CodecWork(info.Env(), codec_, Value(), std::move(ptrs), std::move(erased),
                               size, true, info[0], info[1]);
    Napi::Promise p = work->Promise();
    work->Queue();
    return p;
  }

  int k_ = 0, m_ = 0;
  ks_codec *codec_ = nullptr;
};

// crcUpdate(kind, crc, data[, tables]): the CRC (ks_crc.h) of what `crc`
// (a BigInt) covered followed by `data`, as a BigInt. Runs on the calling
// thread: at gigabytes a second a request's chunk takes microseconds.
Napi::Value CrcUpdate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsBigInt() || !info[2].IsTypedArray() ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "crcUpdate(kind, crc: bigint, data: Uint8Array)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int kind = info[0].As<Napi::Number>().Int32Value();
  if (kind < KS_CRC32 || kind > KS_CRC64NVME) {
    Napi::TypeError::New(env, "unknown CRC kind").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  bool lossless = true;
  uint64_t crc = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
  Napi::Uint8Array data = info[2].As<Napi::Uint8Array>();
  bool tables = info.Length() > 3 && info[3].ToBoolean().Value();
  uint64_t out = tables ? ks_crc_update_tables(kind, crc, data.Data(), data.ByteLength())
                        : ks_crc_update(kind, crc, data.Data(), data.ByteLength());
  return Napi::BigInt::New(env, out);
}

Napi::Value CrcFolds(const Napi::CallbackInfo &info) {
  return Napi::Boolean::New(info.Env(), ks_crc_folds() != 0);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeJerasure", Codec::Define(env));
  exports.Set("crcUpdate", Napi::Function::New(env, CrcUpdate, "crcUpdate"));
  exports.Set("crcFolds", Napi::Function::New(env, CrcFolds, "crcFolds"));
  return exports;
}

}  // namespace

NODE_API_MODULE(kintsugi_jerasure, Init)
