{
  "targets": [
    {
      "target_name": "kintsugi_seal",
      "sources": ["src/gcm.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-Wall", "-std=c++17"]
    }
  ]
}
