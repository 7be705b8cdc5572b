// Session 23, Zen 3: the core's 256-bit FMA peak (twelve independent FMA chains, as perf-zen4-s21/fma-peak.c in AVX2).
// gcc -O2 -mavx2 -mfma fma-peak-avx2.c -o fma-peak && ./fma-peak   (one process per core to load both)
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
int main(){ __m256 a[12]; __m256 b=_mm256_set1_ps(1.0000001f), c=_mm256_set1_ps(1e-7f);
for(int i=0;i<12;i++) a[i]=_mm256_set1_ps(i);
struct timespec t0,t1; clock_gettime(CLOCK_MONOTONIC,&t0);
long n=400000000;
for(long k=0;k<n;k++){
#pragma GCC unroll 12
 for(int i=0;i<12;i++) a[i]=_mm256_fmadd_ps(a[i],b,c);}
clock_gettime(CLOCK_MONOTONIC,&t1);
double s=(t1.tv_sec-t0.tv_sec)+(t1.tv_nsec-t0.tv_nsec)*1e-9;
float r=0; for(int i=0;i<12;i++){ float t[8]; _mm256_storeu_ps(t,a[i]); for(int j=0;j<8;j++) r+=t[j]; }
printf("%.1f GFLOP/s per core (%g)\n", n*12.0*16/s/1e9, r);}
