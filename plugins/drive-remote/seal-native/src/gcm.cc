// AES-256-GCM for the node link's frames, through the OpenSSL that Node
// itself links and exports (no library of our own is linked). Node's
// Cipheriv allocates a new buffer for every update and redoes the key
// schedule for every frame; here a direction's key is set up once, a frame
// is sealed into one buffer the caller sends as it is, and an arriving
// frame is opened where it lies in the socket's chunks.
#include <napi.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstring>

namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kTagBytes = 16;
constexpr size_t kNonceBytes = 12;

// Frame n's nonce: its number, big-endian, in the last 8 of 12 bytes.
void CounterNonce(uint64_t n, unsigned char* nonce) {
  std::memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[11 - i] = static_cast<unsigned char>(n >> (8 * i));
}

class Direction : public Napi::ObjectWrap<Direction> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Direction", {
      InstanceMethod("seal", &Direction::Seal),
      InstanceMethod("open", &Direction::Open),
    });
  }

  explicit Direction(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Direction>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsBoolean()) {
      Napi::TypeError::New(env, "Direction(key, sealing)").ThrowAsJavaScriptException();
      return;
    }
    auto key = info[0].As<Napi::Buffer<unsigned char>>();
    sealing_ = info[1].As<Napi::Boolean>().Value();
    ctx_ = EVP_CIPHER_CTX_new();
    int ok = key.Length() == kKeyBytes && ctx_ != nullptr &&
             (sealing_ ? EVP_EncryptInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, key.Data(), nullptr)
                       : EVP_DecryptInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, key.Data(), nullptr)) == 1;
    if (!ok) Napi::Error::New(env, "AES-256-GCM key setup failed").ThrowAsJavaScriptException();
  }

  ~Direction() override { EVP_CIPHER_CTX_free(ctx_); }

 private:
  // seal(out, headerBytes, pieces): out holds the header in its first
  // headerBytes (authenticated, not encrypted), then room for the pieces'
  // bytes and the tag. The next frame number is the nonce.
  Napi::Value Seal(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto out = info[0].As<Napi::Buffer<unsigned char>>();
    size_t header = info[1].As<Napi::Number>().Uint32Value();
    auto pieces = info[2].As<Napi::Array>();
    size_t total = 0;
    for (uint32_t i = 0; i < pieces.Length(); i++) total += pieces.Get(i).As<Napi::Uint8Array>().ByteLength();
    if (!sealing_ || out.Length() != header + total + kTagBytes) {
      Napi::RangeError::New(env, "seal: output is not header + payload + tag").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    unsigned char nonce[kNonceBytes];
    CounterNonce(next_++, nonce);
    unsigned char* at = out.Data() + header;
    int n = 0;
    bool ok = EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) == 1 &&
              EVP_EncryptUpdate(ctx_, nullptr, &n, out.Data(), static_cast<int>(header)) == 1;
    for (uint32_t i = 0; ok && i < pieces.Length(); i++) {
      auto piece = pieces.Get(i).As<Napi::Uint8Array>();
      ok = EVP_EncryptUpdate(ctx_, at, &n, piece.Data(), static_cast<int>(piece.ByteLength())) == 1;
      at += n;
    }
    ok = ok && EVP_EncryptFinal_ex(ctx_, at, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kTagBytes, out.Data() + header + total) == 1;
    if (!ok) Napi::Error::New(env, "AES-256-GCM seal failed").ThrowAsJavaScriptException();
    return env.Undefined();
  }

  // open(header, pieces, tag): decrypts the pieces where they lie; false
  // when the tag does not match (the pieces then hold garbage and must be
  // dropped, as the connection is).
  Napi::Value Open(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto header = info[0].As<Napi::Uint8Array>();
    auto pieces = info[1].As<Napi::Array>();
    auto tag = info[2].As<Napi::Uint8Array>();
    if (sealing_ || tag.ByteLength() != kTagBytes) {
      Napi::RangeError::New(env, "open: not an opening direction, or a short tag").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    unsigned char nonce[kNonceBytes];
    CounterNonce(next_++, nonce);
    int n = 0;
    bool ok = EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) == 1 &&
              EVP_DecryptUpdate(ctx_, nullptr, &n, header.Data(), static_cast<int>(header.ByteLength())) == 1;
    for (uint32_t i = 0; ok && i < pieces.Length(); i++) {
      auto piece = pieces.Get(i).As<Napi::Uint8Array>();
      ok = EVP_DecryptUpdate(ctx_, piece.Data(), &n, piece.Data(), static_cast<int>(piece.ByteLength())) == 1;
    }
    unsigned char end[16];
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.Data()) == 1 &&
         EVP_DecryptFinal_ex(ctx_, end, &n) == 1;
    return Napi::Boolean::New(env, ok);
  }

  EVP_CIPHER_CTX* ctx_ = nullptr;
  bool sealing_ = false;
  uint64_t next_ = 0;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Direction", Direction::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(kintsugi_seal, Init)
