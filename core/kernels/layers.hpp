// Tie and index rules of the routing ops (max-pool, argmax, reflect padding) that both backends
// must follow exactly, so their results agree bit for bit. I is the index type each side uses.
#pragma once

#include "core/kernels/hd.hpp"

namespace pfce::kernels {

// std::max's rule: the first argument unless the second is larger (a NaN first argument stays).
PFCE_HD inline float max_first(float a, float b) {
    return a < b ? b : a;
}

// Max of the 2x2 window whose rows start at r0 and r1, in order (0,0), (0,1), (1,0), (1,1); the
// second column is `step` elements after the first (1 in an nchw plane, C in an nhwc image).
PFCE_HD inline float window_max_2x2(const float* r0, const float* r1, long long step = 1) {
    return max_first(max_first(r0[0], r0[step]), max_first(r1[0], r1[step]));
}

// Index (from `plane`) of the element of the 2x2 window at `base` that receives the window's
// gradient: the first (in the order above) equal to the pooled max m, or (1,1) if none is (m NaN).
// The window's second column is `step` after its first, its second row `row` after its first: an
// nchw plane of width w has step 1 and row w; an nhwc image of C channels step C and row w*C.
template <typename I>
PFCE_HD inline I window_argmax_2x2(const float* plane, I base, I step, I row, float m) {
    if (plane[base] == m) return base;
    if (plane[base + step] == m) return base + step;
    if (plane[base + row] == m) return base + row;
    return base + row + step;
}
// The same in an nchw plane of width w.
template <typename I>
PFCE_HD inline I window_argmax_2x2(const float* plane, I base, I w, float m) {
    return window_argmax_2x2(plane, base, I{1}, w, m);
}

// Channel of the largest of c values l[0], l[stride], ...; the first one wins ties.
template <typename I>
PFCE_HD inline int argmax_channel(const float* l, I stride, int c) {
    int best = 0;
    float bv = l[0];
    for (int ch = 1; ch < c; ++ch) {
        const float v = l[ch * stride];
        if (v > bv) {
            bv = v;
            best = ch;
        }
    }
    return best;
}

// Source index of output position o along a side of length n placed at offset off, mirrored
// once without repeating the edge (numpy 'reflect').
template <typename I>
PFCE_HD inline I reflect_index(I o, I off, I n) {
    const I t = o - off;
    return t < 0 ? -t : (t >= n ? 2 * (n - 1) - t : t);
}

}  // namespace pfce::kernels
