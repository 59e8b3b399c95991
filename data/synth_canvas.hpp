// Internals of the synthetic generator: the canvas a scene is painted on (material, class, object
// id and shade per pixel), oriented rectangles and value noise. Shared by synth.cpp (layout) and
// synth_render.cpp (materials -> colours); not part of the data layer's interface.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "core/rng.hpp"

namespace pfce::synth {

enum Cls : std::uint8_t {
    kImpervious = 0,
    kBuilding = 1,
    kLowVeg = 2,
    kTree = 3,
    kCar = 4,
    kClutter = 5
};

// Surface texture drawn in the scene frame (u along the road grid, v across it).
enum class Texture : std::uint8_t { none, stripes_u, stripes_v, grid };

struct Material {
    float rgb[3] = {0, 0, 0};
    float mottle = 0;  // low-frequency brightness variation (fraction)
    float fine = 0;    // fine-scale texture from the fine noise (fraction)
    float grain = 0;   // per-pixel noise, 0..255 units
    Texture tex = Texture::none;
    float tex_period = 4;  // pixels
    float tex_amp = 0;     // fraction darkened on the texture's lines
};

// A rectangle centred at (cx, cy), half extents hl along its axis (angle with cos ca, sin sa) and
// hw across it. Pixel centres are at (x + 0.5, y + 0.5).
struct OrientedRect {
    float cx = 0, cy = 0, hl = 0, hw = 0, ca = 1, sa = 0;
    void local(float x, float y, float& lu, float& lv) const {
        const float dx = x - cx, dy = y - cy;
        lu = dx * ca + dy * sa;
        lv = -dx * sa + dy * ca;
    }
    bool contains(float x, float y) const {
        float lu, lv;
        local(x, y, lu, lv);
        return std::fabs(lu) <= hl && std::fabs(lv) <= hw;
    }
    // Does the segment {p + t*(ex,ey) : t in [-len, 0]} hit the rectangle? (p lies in the shadow
    // the rectangle casts along (ex,ey) over length len.)
    bool swept_contains(float x, float y, float ex, float ey, float len) const {
        float qu, qv;
        local(x, y, qu, qv);
        const float du = ex * ca + ey * sa, dv = -ex * sa + ey * ca;
        float t0 = 0, t1 = len;  // p - t*d for t in [0, len]
        auto slab = [&](float q, float d, float h) {
            if (std::fabs(d) < 1e-6f) return std::fabs(q) <= h;
            float a = (q - h) / d, b = (q + h) / d;
            if (a > b) std::swap(a, b);
            t0 = std::max(t0, a);
            t1 = std::min(t1, b);
            return t0 <= t1;
        };
        return slab(qu, du, hl) && slab(qv, dv, hw);
    }
    // Axis-aligned pixel bounds [x0,x1) x [y0,y1) of the rectangle grown by `grow`, clipped to n.
    void bounds(int n, float grow, int& x0, int& y0, int& x1, int& y1) const {
        const float ex = std::fabs(hl * ca) + std::fabs(hw * sa) + grow;
        const float ey = std::fabs(hl * sa) + std::fabs(hw * ca) + grow;
        x0 = std::max(0, static_cast<int>(std::floor(cx - ex)));
        y0 = std::max(0, static_cast<int>(std::floor(cy - ey)));
        x1 = std::min(n, static_cast<int>(std::ceil(cx + ex)) + 1);
        y1 = std::min(n, static_cast<int>(std::ceil(cy + ey)) + 1);
    }
};

// Smooth value noise in [-1, 1] on an n x n image with grid cells of `cell` pixels, filled row by
// row (separable interpolation) so it costs a few operations per pixel.
inline void fill_value_noise(std::vector<float>& out, int n, float cell, CounterRng& rng) {
    const int g = static_cast<int>(n / cell) + 3;
    std::vector<float> grid(static_cast<std::size_t>(g) * g);
    for (float& v : grid) v = static_cast<float>(rng.uniform() * 2.0 - 1.0);
    std::vector<int> ix(n);
    std::vector<float> wx(n);
    for (int x = 0; x < n; ++x) {
        const float fx = (x + 0.5f) / cell;
        ix[x] = static_cast<int>(fx);
        const float t = fx - ix[x];
        wx[x] = t * t * (3 - 2 * t);  // smoothstep: no visible grid creases
    }
    out.resize(static_cast<std::size_t>(n) * n);
    std::vector<float> row(g);
    for (int y = 0; y < n; ++y) {
        const int iy = ix[y];
        const float w = wx[y];
        const float* r0 = &grid[static_cast<std::size_t>(iy) * g];
        const float* r1 = r0 + g;
        for (int j = 0; j < g; ++j) row[j] = r0[j] + w * (r1[j] - r0[j]);
        float* o = &out[static_cast<std::size_t>(y) * n];
        for (int x = 0; x < n; ++x) o[x] = row[ix[x]] + wx[x] * (row[ix[x] + 1] - row[ix[x]]);
    }
}

// Cheap per-pixel hash in [-1, 1] (lowbias32): grain that depends only on the scene key and pixel.
inline float pixel_hash(std::uint32_t key, std::uint32_t i) {
    std::uint32_t h = i * 0x9E3779B9u ^ key;
    h ^= h >> 16;
    h *= 0x7FEB352Du;
    h ^= h >> 15;
    h *= 0x846CA68Bu;
    h ^= h >> 16;
    return static_cast<float>(h >> 8) * (2.0f / 16777216.0f) - 1.0f;
}

// The scene being painted. Later paint covers earlier paint (painter's order = height order).
struct Canvas {
    int n = 0;
    std::vector<std::uint8_t> mat;   // index into materials
    std::vector<std::uint8_t> cls;   // class
    std::vector<std::uint16_t> obj;  // object id (0 = ground), for self-shadowing
    std::vector<float> shade;        // multiplies the colour (shadows, roof sides, crown light)
    std::vector<Material> materials;

    // Clears for a new size x size scene, keeping the buffers' memory: scenes are made by the
    // thousand, and fresh allocations of this size cost page faults that dominate the run time.
    void reset(int size) {
        n = size;
        const std::size_t count = static_cast<std::size_t>(size) * size;
        mat.assign(count, 0);
        cls.assign(count, kLowVeg);
        obj.assign(count, 0);
        shade.assign(count, 1.0f);
        materials.clear();
    }

    std::uint8_t add_material(const Material& m) {
        if (materials.size() >= 255) return static_cast<std::uint8_t>(materials.size() - 1);
        materials.push_back(m);
        return static_cast<std::uint8_t>(materials.size() - 1);
    }
    void set(std::size_t i, std::uint8_t m, std::uint8_t c, std::uint16_t o) {
        mat[i] = m;
        cls[i] = c;
        obj[i] = o;
    }
};

}  // namespace pfce::synth
