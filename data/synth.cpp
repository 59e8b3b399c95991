// Potsdam-like synthetic scenes. Layout (roads with sidewalks and lane marks, a paved yard,
// buildings with gabled or flat roofs, cars on roads, clutter, lawns, trees) is drawn from
// CounterRng(seed, index) in a frame rotated by the scene's grid angle; everything scales with
// size/300, so small and large scenes keep all classes. Shadows darken whatever they fall on
// without changing its class, and materials overlap in colour (grey roofs vs roads, dark trees vs
// shadowed lawn, soil vs clutter).
#include "data/synth.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/synth_canvas.hpp"

namespace pfce {
namespace {

using namespace synth;

constexpr std::uint32_t kLayoutStream = 0x53594E30u;  // "SYN0": layout draws
constexpr std::uint32_t kNoiseStream = 0x53594E31u;   // "SYN1": noise grids

struct Rng {
    CounterRng r;
    float uni(float a, float b) { return a + (b - a) * static_cast<float>(r.uniform()); }
    int below(int n) {
        return n <= 1 ? 0 : static_cast<int>(r.below(static_cast<std::uint32_t>(n)));
    }
    bool chance(float p) { return r.uniform() < p; }
};

Material make(float r, float g, float b, float mottle, float fine, float grain) {
    Material m;
    m.rgb[0] = r;
    m.rgb[1] = g;
    m.rgb[2] = b;
    m.mottle = mottle;
    m.fine = fine;
    m.grain = grain;
    return m;
}

// Light paving laid in tiles (yards, parking lots, aprons): brightness b, slightly warmer in red,
// with a grid texture of the given period and amplitude.
Material tiled_paving(float b, float green_drop, float blue_drop, float grain, float period,
                      float amp) {
    Material m = make(b, b - green_drop, b - blue_drop, 0.08f, 0.05f, grain);
    m.tex = Texture::grid;
    m.tex_period = std::max(2.0f, period);
    m.tex_amp = amp;
    return m;
}

// sin(3a + w) and sin(5a + w) from (cos a, sin a) and (cos w, sin w) by the multiple-angle
// polynomials: wobbly outlines without a per-pixel atan2 and sin.
inline float sin3_shifted(float c, float s, float cw, float sw) {
    return (3 * s - 4 * s * s * s) * cw + (4 * c * c * c - 3 * c) * sw;
}
inline float sin5_shifted(float c, float s, float cw, float sw) {
    const float s2 = s * s, c2 = c * c;
    return (s * (16 * s2 * s2 - 20 * s2 + 5)) * cw + (c * (16 * c2 * c2 - 20 * c2 + 5)) * sw;
}

// Paints every pixel of `rect` (grown by nothing) through fn(i, lu, lv).
template <typename Fn>
void paint_rect(Canvas& cv, const OrientedRect& rect, Fn&& fn) {
    int x0, y0, x1, y1;
    rect.bounds(cv.n, 0.0f, x0, y0, x1, y1);
    for (int y = y0; y < y1; ++y) {
        for (int x = x0; x < x1; ++x) {
            float lu, lv;
            rect.local(x + 0.5f, y + 0.5f, lu, lv);
            if (std::fabs(lu) <= rect.hl && std::fabs(lv) <= rect.hw)
                fn(static_cast<std::size_t>(y) * cv.n + x, lu, lv);
        }
    }
}

struct Scene {
    int n;
    float s;                              // scale relative to a 300x300 patch
    float ca, sa;                         // grid frame: u axis (ca, sa), v axis (-sa, ca)
    float sun_x, sun_y;                   // unit direction shadows fall along
    std::vector<OrientedRect> roads;      // full road corridors (asphalt + sidewalks)
    std::vector<OrientedRect> buildings;  // footprints (an L-shape is two)
    std::vector<std::uint16_t> building_ids;
    std::vector<float> building_heights;
    struct Tree {
        float x, y, r;
        std::uint16_t id;
    };
    std::vector<Tree> trees;
    std::vector<OrientedRect> reserved;  // places buildings must avoid (roads, yard)
};

OrientedRect frame_rect(const Scene& sc, float u, float v, float hl, float hw, bool along_v) {
    OrientedRect r;
    r.cx = sc.n * 0.5f + u * sc.ca - v * sc.sa;
    r.cy = sc.n * 0.5f + u * sc.sa + v * sc.ca;
    r.hl = hl;
    r.hw = hw;
    r.ca = along_v ? -sc.sa : sc.ca;
    r.sa = along_v ? sc.ca : sc.sa;
    return r;
}

bool overlaps(const OrientedRect& a, const OrientedRect& b, float margin) {
    // Separating-axis test on the four rectangle axes.
    const float axes[4][2] = {{a.ca, a.sa}, {-a.sa, a.ca}, {b.ca, b.sa}, {-b.sa, b.ca}};
    for (const auto& ax : axes) {
        auto radius = [&](const OrientedRect& r) {
            return std::fabs(r.hl * (r.ca * ax[0] + r.sa * ax[1])) +
                   std::fabs(r.hw * (-r.sa * ax[0] + r.ca * ax[1]));
        };
        const float d = std::fabs((b.cx - a.cx) * ax[0] + (b.cy - a.cy) * ax[1]);
        if (d > radius(a) + radius(b) + margin) return false;
    }
    return true;
}

// ---- layers, bottom to top -------------------------------------------------------------------

void paint_ground(Canvas& cv, Rng& rng) {
    // Lawn colour varies per scene from fresh green to dry yellow-brown, like Potsdam's low
    // vegetation.
    const float dry = rng.uni(0.0f, 1.0f);
    Material lawn = make(100 + 55 * dry, 135 + 5 * dry, 62 + 25 * dry, 0.16f, 0.10f, 9);
    cv.mat.assign(cv.mat.size(), cv.add_material(lawn));
}

void paint_clutter_patches(Canvas& cv, Scene& sc, Rng& rng) {
    const float target = rng.chance(0.85f) ? rng.uni(0.04f, 0.2f) * sc.n * sc.n : 0.0f;
    float placed = 0;
    for (int p = 0; p < 6 && placed < target; ++p) {
        // Bare soil / construction ground: brown, gravelly, close to dry lawn in colour.
        const float b = rng.uni(0.85f, 1.15f);
        Material soil = make(128 * b, 104 * b, 80 * b, 0.18f, 0.18f, 14);
        const std::uint8_t m = cv.add_material(soil);
        const float cx = rng.uni(0.0f, sc.n * 1.0f), cy = rng.uni(0.0f, sc.n * 1.0f);
        const float rx = rng.uni(20, 55) * sc.s, ry = rng.uni(14, 38) * sc.s;
        const float ang = rng.uni(0, 3.14159f), c = std::cos(ang), si = std::sin(ang);
        const float wob = rng.uni(0.0f, 6.28f), wc = std::cos(wob), ws = std::sin(wob);
        OrientedRect box{cx, cy, rx * 1.3f, ry * 1.3f, c, si};
        paint_rect(cv, box, [&](std::size_t i, float lu, float lv) {
            const float q = (lu * lu) / (rx * rx) + (lv * lv) / (ry * ry);
            if (q > 1.6384f) return;  // the wobbly edge stays within [0.72, 1.28] of the ellipse
            if (q > 0.5184f) {
                const float inv = 1.0f / std::sqrt(q), cn = lu / rx * inv, sn = lv / ry * inv;
                const float edge = 1.0f + 0.18f * sin3_shifted(cn, sn, wc, ws) +
                                   0.1f * sin5_shifted(cn, sn, wc, -ws);
                if (q > edge * edge) return;
            }
            if (cv.cls[i] != kLowVeg) return;  // on open ground only
            cv.set(i, m, kClutter, 0);
            ++placed;
        });
    }
}

void paint_roads(Canvas& cv, Scene& sc, Rng& rng) {
    const int kind = rng.below(100);
    const int along_u = kind < 12 ? 0 : 1;        // 12%: no road, a paved yard only
    const int along_v = kind >= 12 && kind < 60;  // 48%: a crossing, else one road
    const float g = rng.uni(92, 112);
    Material asphalt = make(g - 3, g, g + 4, 0.10f, 0.05f, 7);
    Material sidewalk = make(g + 50, g + 48, g + 44, 0.07f, 0.04f, 8);
    sidewalk.tex = Texture::grid;
    sidewalk.tex_period = std::max(2.0f, 4.0f * sc.s);
    sidewalk.tex_amp = 0.10f;
    Material marks = make(222, 222, 215, 0.03f, 0.0f, 6);
    const std::uint8_t ma = cv.add_material(asphalt), ms = cv.add_material(sidewalk),
                       mm = cv.add_material(marks);
    const float reach = sc.n * 0.75f;
    auto road = [&](bool v_dir) {
        const float off = rng.uni(-0.38f, 0.38f) * sc.n;
        const float half = rng.uni(13, 20) * sc.s, walk = rng.uni(6, 11) * sc.s;
        const float dash = std::max(4.0f, 14.0f * sc.s), mark_w = std::max(0.6f, 0.9f * sc.s);
        OrientedRect r = v_dir ? frame_rect(sc, off, 0, reach, half + walk, true)
                               : frame_rect(sc, 0, off, reach, half + walk, false);
        paint_rect(cv, r, [&](std::size_t i, float lu, float lv) {
            const float a = std::fabs(lv);
            if (a > half) {
                cv.set(i, ms, kImpervious, 0);
            } else if (a < mark_w && std::fmod(lu + reach, 2 * dash) < dash) {
                cv.set(i, mm, kImpervious, 0);
            } else {
                cv.set(i, ma, kImpervious, 0);
            }
        });
        sc.roads.push_back(r);
        sc.reserved.push_back(r);
    };
    for (int k = 0; k < along_u; ++k) road(false);
    for (int k = 0; k < along_v; ++k) road(true);
    if (along_u + along_v == 0 || rng.chance(0.4f)) {
        // A paved yard or parking lot (impervious, light tiles): where roads are missing it keeps
        // the impervious share, and it gets parked cars.
        const float b = rng.uni(125, 165);
        const std::uint8_t my = cv.add_material(tiled_paving(b, 2, 6, 8, 6.0f * sc.s, 0.06f));
        OrientedRect r = frame_rect(sc, rng.uni(-0.3f, 0.3f) * sc.n, rng.uni(-0.3f, 0.3f) * sc.n,
                                    rng.uni(35, 70) * sc.s, rng.uni(25, 45) * sc.s, false);
        paint_rect(cv, r, [&](std::size_t i, float, float) { cv.set(i, my, kImpervious, 0); });
        sc.roads.push_back(r);
        sc.reserved.push_back(r);
    }
}

void paint_buildings(Canvas& cv, Scene& sc, Rng& rng, std::uint16_t& next_id) {
    const float target = rng.uni(0.25f, 0.7f) * sc.n * sc.n;  // building footprint budget
    float placed = 0;
    for (int attempt = 0; attempt < 150 && placed < target; ++attempt) {
        const float hl = rng.uni(25, 75) * sc.s, hw = rng.uni(20, 48) * sc.s;
        const bool along_v = rng.chance(0.5f);
        OrientedRect r = frame_rect(sc, rng.uni(-0.55f, 0.55f) * sc.n,
                                    rng.uni(-0.55f, 0.55f) * sc.n, hl, hw, along_v);
        const float margin = 1.5f * sc.s;
        bool clash = false;
        for (const auto& o : sc.reserved) clash = clash || overlaps(r, o, margin);
        for (const auto& o : sc.buildings) clash = clash || overlaps(r, o, margin * 2);
        if (clash) continue;

        // Roof: red tiles, grey, dark, or light gravel (flat).
        const int kind = rng.below(100);
        Material roof;
        bool gabled = true;
        if (kind < 42) {
            const float b = rng.uni(0.8f, 1.15f);
            roof = make(172 * b, 82 * b, 62 * b, 0.08f, 0.05f, 9);
            roof.tex = along_v ? Texture::stripes_v : Texture::stripes_u;
            roof.tex_period = std::max(2.0f, 3.0f * sc.s);
            roof.tex_amp = 0.12f;
        } else if (kind < 72) {
            const float g = rng.uni(95, 135);
            roof = make(g, g + 1, g + 5, 0.08f, 0.04f, 7);  // as grey as the roads
            gabled = rng.chance(0.5f);
        } else if (kind < 88) {
            const float g = rng.uni(45, 70);
            roof = make(g, g + 2, g + 6, 0.10f, 0.04f, 7);  // as dark as shadows
            gabled = rng.chance(0.4f);
        } else {
            const float g = rng.uni(160, 195);
            roof = make(g, g - 3, g - 10, 0.06f, 0.12f, 12);
            gabled = false;
        }
        const std::uint8_t m = cv.add_material(roof);
        const std::uint16_t id = next_id++;
        if (rng.chance(0.7f)) {
            // A paved apron (paths, terrace, parking) around the building, on open ground.
            const float b = rng.uni(120, 170);
            const std::uint8_t mp = cv.add_material(tiled_paving(b, 3, 8, 9, 5.0f * sc.s, 0.07f));
            OrientedRect apron = r;
            apron.hl += rng.uni(6, 20) * sc.s;
            apron.hw += rng.uni(6, 20) * sc.s;
            paint_rect(cv, apron, [&](std::size_t i, float, float) {
                if (cv.cls[i] == kLowVeg || cv.cls[i] == kClutter) cv.set(i, mp, kImpervious, 0);
            });
        }
        const float height = rng.uni(8, 24) * sc.s;
        const float ridge = std::max(0.6f, 1.0f * sc.s), rim = std::max(0.6f, 1.5f * sc.s);
        auto paint_part = [&](const OrientedRect& part, bool gable) {
            paint_rect(cv, part, [&](std::size_t i, float lu, float lv) {
                cv.set(i, m, kBuilding, id);
                float sh = 1.0f;
                if (gable) sh = lv > 0 ? 0.80f : 1.0f;
                if (gable && std::fabs(lv) < ridge) sh = 1.08f;
                if (part.hw - std::fabs(lv) < rim || part.hl - std::fabs(lu) < rim) sh *= 0.82f;
                cv.shade[i] = sh;
            });
            sc.buildings.push_back(part);
            sc.building_ids.push_back(id);
            sc.building_heights.push_back(height);
        };
        paint_part(r, gabled);
        placed += 4 * hl * hw;
        if (rng.chance(0.35f)) {
            // L-shape: a wing across the main body at one end.
            const float wl = rng.uni(0.5f, 0.9f) * hw * 2, ww = rng.uni(0.4f, 0.7f) * hw;
            const float end = (rng.chance(0.5f) ? 1 : -1) * (hl - ww);
            const float side = (rng.chance(0.5f) ? 1 : -1) * (hw + wl * 0.5f);
            OrientedRect wing;
            wing.cx = r.cx + end * r.ca - side * r.sa;
            wing.cy = r.cy + end * r.sa + side * r.ca;
            wing.hl = wl * 0.5f + 0.5f;
            wing.hw = ww;
            wing.ca = -r.sa;
            wing.sa = r.ca;
            bool wing_clash = false;
            for (const auto& o : sc.reserved) wing_clash = wing_clash || overlaps(wing, o, margin);
            for (std::size_t b = 0; b + 1 < sc.buildings.size(); ++b)
                wing_clash = wing_clash || overlaps(wing, sc.buildings[b], margin * 2);
            if (!wing_clash) {
                paint_part(wing, gabled);
                placed += wl * ww * 2;
            }
        }
        // Flat roofs carry small fixtures (vents, skylights), still building.
        if (!gabled) {
            Material fix =
                make(rng.uni(150, 220), rng.uni(150, 220), rng.uni(150, 220), 0.02f, 0.0f, 6);
            const std::uint8_t mf = cv.add_material(fix);
            const int count = rng.below(4);
            for (int f = 0; f < count; ++f) {
                OrientedRect fr = r;
                fr.hl = rng.uni(2, 6) * sc.s + 0.5f;
                fr.hw = rng.uni(1.5f, 3) * sc.s + 0.5f;
                const float fu = rng.uni(-0.7f, 0.7f) * r.hl, fv = rng.uni(-0.6f, 0.6f) * r.hw;
                fr.cx = r.cx + fu * r.ca - fv * r.sa;
                fr.cy = r.cy + fu * r.sa + fv * r.ca;
                paint_rect(cv, fr, [&](std::size_t i, float, float) {
                    if (cv.obj[i] == id) cv.mat[i] = mf;
                });
            }
        }
    }
}

void paint_cars(Canvas& cv, Scene& sc, Rng& rng, std::uint16_t& next_id) {
    static const float colours[][3] = {{228, 228, 226}, {172, 174, 178}, {32, 32, 36},
                                       {72, 74, 78},    {165, 32, 30},   {42, 62, 135},
                                       {200, 190, 160}, {25, 45, 90}};
    const std::uint8_t glass = cv.add_material(make(38, 44, 52, 0.02f, 0.0f, 5));
    const float len = std::max(3.0f, rng.uni(17, 21) * sc.s),
                wid = std::max(2.0f, rng.uni(7.5f, 9) * sc.s);
    for (const auto& road : sc.roads) {
        const bool yard = road.hl < sc.n * 0.5f;  // parking lot: rows across it
        // Parking lanes along both edges of the asphalt, and a travel lane or two.
        const int lanes = yard ? 2 : 4;
        for (int lane = 0; lane < lanes; ++lane) {
            float offset;
            if (yard) {
                offset = (lane == 0 ? -1 : 1) * (road.hw - wid * 0.7f);
            } else {
                const float half = road.hw;  // corridor half width; asphalt edge ~ 0.65 of it
                const float edge = half * 0.62f - wid * 0.6f;
                offset = lane == 0 ? -edge : lane == 1 ? edge : (lane == 2 ? -0.3f : 0.3f) * half;
            }
            const bool parking = yard || lane < 2;
            const float density = parking ? 0.42f : 0.08f;
            for (float t = -road.hl + rng.uni(0, len); t < road.hl;
                 t += len * rng.uni(1.15f, 1.6f)) {
                if (!rng.chance(density)) continue;
                OrientedRect car;
                car.cx = road.cx + t * road.ca - offset * road.sa;
                car.cy = road.cy + t * road.sa + offset * road.ca;
                if (car.cx < -len || car.cy < -len || car.cx > sc.n + len || car.cy > sc.n + len)
                    continue;
                // Not in a crossing (the centre must be on this road's asphalt only).
                bool crossing = false;
                for (const auto& other : sc.roads)
                    if (&other != &road && other.contains(car.cx, car.cy)) crossing = true;
                if (crossing) continue;
                const float jitter = rng.uni(-0.06f, 0.06f);
                car.ca = road.ca * std::cos(jitter) - road.sa * std::sin(jitter);
                car.sa = road.sa * std::cos(jitter) + road.ca * std::sin(jitter);
                car.hl = len * 0.5f;
                car.hw = wid * 0.5f;
                const float* c = colours[rng.below(8)];
                const float b = rng.uni(0.9f, 1.08f);
                const std::uint8_t body =
                    cv.add_material(make(c[0] * b, c[1] * b, c[2] * b, 0.02f, 0.0f, 6));
                const std::uint16_t id = next_id++;
                const float front = rng.chance(0.5f) ? 1.0f : -1.0f;
                paint_rect(cv, car, [&](std::size_t i, float lu, float lv) {
                    const float f = lu * front / car.hl;  // -1 rear .. 1 front
                    const bool window = (f > 0.18f && f < 0.42f) || (f > -0.72f && f < -0.58f);
                    const bool side = std::fabs(lv) > car.hw * 0.78f;
                    cv.set(i, window && !side ? glass : body, kCar, id);
                    cv.shade[i] = side ? 0.85f : 1.0f;
                });
            }
        }
    }
}

void paint_small_clutter(Canvas& cv, Scene& sc, Rng& rng) {
    const int count = rng.below(9);
    for (int k = 0; k < count; ++k) {
        // Bins, boxes, containers, garden sheds: any colour, any place.
        Material m = make(rng.uni(40, 230), rng.uni(40, 230), rng.uni(40, 230), 0.04f, 0.05f, 10);
        const std::uint8_t mi = cv.add_material(m);
        const float ang = rng.uni(0, 3.14159f);
        OrientedRect r{rng.uni(0.0f, sc.n * 1.0f),
                       rng.uni(0.0f, sc.n * 1.0f),
                       rng.uni(3, 14) * sc.s + 0.6f,
                       rng.uni(2, 8) * sc.s + 0.6f,
                       std::cos(ang),
                       std::sin(ang)};
        paint_rect(cv, r, [&](std::size_t i, float, float) {
            if (cv.cls[i] != kBuilding && cv.cls[i] != kCar) {
                cv.set(i, mi, kClutter, 0);
                cv.shade[i] = 1.0f;
            }
        });
    }
}

void paint_trees(Canvas& cv, Scene& sc, Rng& rng, std::uint16_t& next_id,
                 const std::vector<float>& fine_noise) {
    const float target = rng.uni(0.06f, 0.30f) * sc.n * sc.n;
    float placed = 0;
    const int clusters = 1 + rng.below(3);
    std::vector<std::pair<float, float>> centres;
    for (int c = 0; c < clusters; ++c)
        centres.emplace_back(rng.uni(0.0f, sc.n * 1.0f), rng.uni(0.0f, sc.n * 1.0f));
    const float lx = -sc.sun_x, ly = -sc.sun_y;  // towards the sun
    for (int attempt = 0; attempt < 120 && placed < target; ++attempt) {
        const auto& cc = centres[static_cast<std::size_t>(rng.below(clusters))];
        const float spread = 55 * sc.s;
        const float x = cc.first + rng.uni(-spread, spread),
                    y = cc.second + rng.uni(-spread, spread);
        const float r = std::max(1.5f, rng.uni(9, 26) * sc.s);
        bool on_roof = false;
        for (const auto& b : sc.buildings) on_roof = on_roof || b.contains(x, y);
        if (on_roof) continue;
        const float g = rng.uni(0.75f, 1.1f);
        Material leaves = make(58 * g, 88 * g, 42 * g, 0.08f, 0.32f, 8);
        const std::uint8_t m = cv.add_material(leaves);
        const std::uint16_t id = next_id++;
        const float wob = rng.uni(0, 6.28f), wc = std::cos(wob), ws = std::sin(wob);
        const int x0 = std::max(0, static_cast<int>(x - 1.13f * r)),
                  x1 = std::min(cv.n, static_cast<int>(x + 1.13f * r) + 1);
        const int y0 = std::max(0, static_cast<int>(y - 1.13f * r)),
                  y1 = std::min(cv.n, static_cast<int>(y + 1.13f * r) + 1);
        for (int py = y0; py < y1; ++py) {
            for (int px = x0; px < x1; ++px) {
                const float dx = px + 0.5f - x, dy = py + 0.5f - y;
                const float d2 = dx * dx + dy * dy;
                const std::size_t i = static_cast<std::size_t>(py) * cv.n + px;
                // Lobed, leafy outline: radius modulated by angle and by the fine noise, within
                // [0.72r, 1.12r]; the angle is only needed in that ring.
                if (d2 > 1.2544f * r * r) continue;
                if (d2 > 0.5184f * r * r) {
                    const float inv = 1.0f / std::sqrt(d2);
                    const float rr = r * (0.92f + 0.08f * sin5_shifted(dx * inv, dy * inv, wc, ws) +
                                          0.12f * fine_noise[i]);
                    if (d2 > rr * rr) continue;
                }
                if (cv.cls[i] != kTree) ++placed;
                cv.set(i, m, kTree, id);
                // Crown as a lit dome: brighter towards the sun, darker away from it.
                const float nx = dx / r, ny = dy / r;
                const float nz = std::sqrt(std::max(0.0f, 1.0f - nx * nx - ny * ny));
                cv.shade[i] =
                    0.62f + 0.38f * std::max(0.0f, 0.75f * (nx * lx + ny * ly) + 0.65f * nz);
            }
        }
        sc.trees.push_back({x, y, r, id});
    }
}

void cast_shadows(Canvas& cv, Scene& sc, Rng& rng) {
    const float dark = rng.uni(0.42f, 0.58f);
    for (std::size_t b = 0; b < sc.buildings.size(); ++b) {
        const OrientedRect& r = sc.buildings[b];
        const float len = sc.building_heights[b];
        const std::uint16_t id = sc.building_ids[b];
        int x0, y0, x1, y1;
        r.bounds(cv.n, len, x0, y0, x1, y1);
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) {
                const std::size_t i = static_cast<std::size_t>(y) * cv.n + x;
                if (cv.obj[i] == id || cv.cls[i] == kBuilding) continue;  // roofs stand above it
                if (r.swept_contains(x + 0.5f, y + 0.5f, sc.sun_x, sc.sun_y, len))
                    cv.shade[i] = std::min(cv.shade[i], dark);
            }
    }
    for (const auto& t : sc.trees) {
        const float len = t.r * 0.9f;
        const float ex = t.x + sc.sun_x * len, ey = t.y + sc.sun_y * len;
        const int x0 = std::max(0, static_cast<int>(std::min(t.x, ex) - t.r)),
                  x1 = std::min(cv.n, static_cast<int>(std::max(t.x, ex) + t.r) + 1);
        const int y0 = std::max(0, static_cast<int>(std::min(t.y, ey) - t.r)),
                  y1 = std::min(cv.n, static_cast<int>(std::max(t.y, ey) + t.r) + 1);
        const float tree_dark = dark + 0.08f;  // foliage lets some light through
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x) {
                const std::size_t i = static_cast<std::size_t>(y) * cv.n + x;
                if (cv.obj[i] == t.id || cv.cls[i] == kBuilding) continue;
                // Distance from the pixel to the segment the crown is swept along.
                const float px = x + 0.5f - t.x, py = y + 0.5f - t.y;
                float k = px * sc.sun_x + py * sc.sun_y;
                k = std::clamp(k, 0.0f, len);
                const float qx = px - k * sc.sun_x, qy = py - k * sc.sun_y;
                if (qx * qx + qy * qy <= t.r * t.r * 0.85f)
                    cv.shade[i] = std::min(cv.shade[i], tree_dark);
            }
    }
}

// Materials, noise and shade -> colours.
void render(const Canvas& cv, const Scene& sc, std::uint32_t key, const std::vector<float>& coarse,
            const std::vector<float>& fine, const float gain[3], RgbImage& out) {
    const int n = cv.n;
    for (int y = 0; y < n; ++y) {
        // Scene-frame coordinates, stepped along the row.
        const float dy = y + 0.5f - n * 0.5f, dx0 = 0.5f - n * 0.5f;
        float u = dx0 * sc.ca + dy * sc.sa, v = -dx0 * sc.sa + dy * sc.ca;
        for (int x = 0; x < n; ++x, u += sc.ca, v -= sc.sa) {
            const std::size_t i = static_cast<std::size_t>(y) * n + x;
            const Material& m = cv.materials[cv.mat[i]];
            float f = 1.0f + m.mottle * coarse[i] + m.fine * fine[i];
            if (m.tex != Texture::none) {
                const float p = m.tex_period;
                const float fu = u / p - std::floor(u / p), fv = v / p - std::floor(v / p);
                const bool line = (m.tex == Texture::stripes_u && fu < 0.3f) ||
                                  (m.tex == Texture::stripes_v && fv < 0.3f) ||
                                  (m.tex == Texture::grid && (fu < 0.18f || fv < 0.18f));
                if (line) f -= m.tex_amp;
            }
            const float grain = m.grain * pixel_hash(key, static_cast<std::uint32_t>(i));
            const float sh = cv.shade[i];
            std::uint8_t* px = &out.pixels[i * 3];
            for (int c = 0; c < 3; ++c) {
                const float val = (m.rgb[c] * f + grain) * sh * gain[c];
                px[c] = static_cast<std::uint8_t>(std::clamp(val + 0.5f, 0.0f, 255.0f));
            }
        }
    }
}

}  // namespace

SynthScene synthesize_scene(int size, std::uint64_t seed, std::uint32_t index) {
    if (size < 16 || size > 8192)
        PFCE_THROW(InputError, "synthetic scene size ", size,
                   " is out of range; expected 16..8192");
    Rng rng{CounterRng(seed, index, kLayoutStream)};
    Scene sc;
    sc.n = size;
    sc.s = size / 300.0f;
    const float angle = rng.chance(0.4f) ? 0.0f : rng.uni(0.0f, 1.5708f);
    sc.ca = std::cos(angle);
    sc.sa = std::sin(angle);
    const float sun = rng.uni(0.0f, 6.2832f);
    sc.sun_x = std::cos(sun);
    sc.sun_y = std::sin(sun);

    // Scratch buffers live per thread and are reused (see Canvas::reset).
    thread_local std::vector<float> coarse, fine;
    thread_local Canvas cv;
    CounterRng noise_rng(seed, index, kNoiseStream);
    fill_value_noise(coarse, size, std::max(4.0f, 28.0f * sc.s), noise_rng);
    fill_value_noise(fine, size, std::max(1.5f, 3.0f * sc.s), noise_rng);
    cv.reset(size);
    std::uint16_t next_id = 1;
    paint_ground(cv, rng);
    paint_roads(cv, sc, rng);
    paint_buildings(cv, sc, rng, next_id);
    paint_clutter_patches(cv, sc, rng);
    paint_cars(cv, sc, rng, next_id);
    paint_small_clutter(cv, sc, rng);
    paint_trees(cv, sc, rng, next_id, fine);
    cast_shadows(cv, sc, rng);

    // Slight per-scene colour cast and exposure, as between Potsdam tiles.
    const float exposure = rng.uni(0.88f, 1.12f);
    const float gain[3] = {exposure * rng.uni(0.95f, 1.05f), exposure * rng.uni(0.95f, 1.05f),
                           exposure * rng.uni(0.95f, 1.05f)};
    SynthScene out;
    out.image = RgbImage(size, size);
    render(cv, sc,
           static_cast<std::uint32_t>(seed * 0x9E3779B97F4A7C15ull >> 32) ^ (index * 0x85EBCA6Bu),
           coarse, fine, gain, out.image);
    out.labels = LabelMap(size, size);
    out.labels.labels.assign(cv.cls.begin(), cv.cls.end());
    return out;
}

}  // namespace pfce
