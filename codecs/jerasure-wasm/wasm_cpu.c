/*
 * Replaces gf-complete's gf_cpu.c in the WASM build. That file asks the CPU
 * (cpuid) which SIMD extensions exist; WebAssembly has no such instruction,
 * and a module compiled with -msimd128 cannot even be instantiated by an
 * engine without SIMD. So the answer is fixed when the module is compiled:
 * an extension is "present" exactly when emcc was told to emulate it.
 */
int gf_cpu_identified = 0;
int gf_cpu_supports_intel_pclmul = 0;
int gf_cpu_supports_intel_sse4 = 0;
int gf_cpu_supports_intel_ssse3 = 0;
int gf_cpu_supports_intel_sse3 = 0;
int gf_cpu_supports_intel_sse2 = 0;
int gf_cpu_supports_arm_neon = 0;

void gf_cpu_identify(void) {
  if (gf_cpu_identified) return;
#if defined(__wasm_simd128__)
#if defined(INTEL_SSE2)
  gf_cpu_supports_intel_sse2 = 1;
#endif
#if defined(INTEL_SSE3)
  gf_cpu_supports_intel_sse3 = 1;
#endif
#if defined(INTEL_SSSE3)
  gf_cpu_supports_intel_ssse3 = 1;
#endif
#if defined(INTEL_SSE4)
  gf_cpu_supports_intel_sse4 = 1;
#endif
#endif
  gf_cpu_identified = 1;
}
