{
  "targets": [
    {
      "target_name": "kintsugi_jerasure",
      "sources": ["src/addon.cc", "../common/ks_codec.c", "../common/ks_crc.c"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "/usr/include/jerasure",
        "../common"
      ],
      "libraries": ["-lJerasure", "-lgf_complete"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags": ["-O3", "-Wall"],
      "cflags_cc": ["-O3", "-Wall", "-std=c++17"]
    }
  ]
}
