// Bench-only reference: Intel ISA-L's Reed-Solomon (ec_encode_data) over a
// Cauchy matrix, the speed of light for erasure coding on this CPU. Not used
// by the store (its parity differs from jerasure's, so it cannot read our data).
#include <isa-l/erasure_code.h>
#include <napi.h>

#include <vector>

namespace {

class IsalCode : public Napi::ObjectWrap<IsalCode> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "IsalCode",
                       {InstanceMethod<&IsalCode::Encode>("encode"),
                        InstanceMethod<&IsalCode::Decode>("decode")});
  }

  // new IsalCode(k, m)
  explicit IsalCode(const Napi::CallbackInfo &info) : Napi::ObjectWrap<IsalCode>(info) {
    k_ = info[0].As<Napi::Number>().Int32Value();
    m_ = info[1].As<Napi::Number>().Int32Value();
    int n = k_ + m_;
    matrix_.resize(n * k_);
    gf_gen_cauchy1_matrix(matrix_.data(), n, k_);
    tables_.resize(32 * k_ * m_);
    ec_init_tables(k_, m_, matrix_.data() + k_ * k_, tables_.data());
  }

 private:
  static std::vector<unsigned char *> Pointers(Napi::Value v, size_t *len) {
    Napi::Array arr = v.As<Napi::Array>();
    std::vector<unsigned char *> out;
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Uint8Array u8 = arr.Get(i).As<Napi::Uint8Array>();
      *len = u8.ByteLength();
      out.push_back(u8.Data());
    }
    return out;
  }

  // encode(data[k], parity[m])
  Napi::Value Encode(const Napi::CallbackInfo &info) {
    size_t len = 0;
    auto data = Pointers(info[0], &len);
    auto parity = Pointers(info[1], &len);
    ec_encode_data((int)len, k_, m_, tables_.data(), data.data(), parity.data());
    return info.Env().Undefined();
  }

  // decode(shards[k+m], erased[]): rebuilds erased data shards from the first
  // k surviving ones by inverting their rows of the generator matrix.
  Napi::Value Decode(const Napi::CallbackInfo &info) {
    size_t len = 0;
    auto shards = Pointers(info[0], &len);
    Napi::Array er = info[1].As<Napi::Array>();
    int n = k_ + m_;
    std::vector<bool> erased(n, false);
    std::vector<int> lost;
    for (uint32_t i = 0; i < er.Length(); i++) {
      int e = er.Get(i).As<Napi::Number>().Int32Value();
      erased[e] = true;
      lost.push_back(e);
    }
    std::vector<unsigned char> sub(k_ * k_), inv(k_ * k_), dec(k_ * lost.size());
    std::vector<unsigned char *> src;
    for (int r = 0, row = 0; r < n && row < k_; r++) {
      if (erased[r]) continue;
      for (int c = 0; c < k_; c++) sub[row * k_ + c] = matrix_[r * k_ + c];
      src.push_back(shards[r]);
      row++;
    }
    if (gf_invert_matrix(sub.data(), inv.data(), k_) < 0) {
      Napi::Error::New(info.Env(), "singular").ThrowAsJavaScriptException();
      return info.Env().Undefined();
    }
    std::vector<unsigned char *> dst;
    for (size_t i = 0; i < lost.size(); i++) {
      int e = lost[i];
      if (e >= k_) {
        Napi::Error::New(info.Env(), "bench decodes data shards only").ThrowAsJavaScriptException();
        return info.Env().Undefined();
      }
      for (int c = 0; c < k_; c++) dec[i * k_ + c] = inv[e * k_ + c];
      dst.push_back(shards[e]);
    }
    std::vector<unsigned char> tables(32 * k_ * lost.size());
    ec_init_tables(k_, (int)lost.size(), dec.data(), tables.data());
    ec_encode_data((int)len, k_, (int)lost.size(), tables.data(), src.data(), dst.data());
    return info.Env().Undefined();
  }

  int k_, m_;
  std::vector<unsigned char> matrix_, tables_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("IsalCode", IsalCode::Define(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(kintsugi_isal, Init)
