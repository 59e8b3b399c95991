// Reference proximity linking (DESIGN §2), image by image: every pair of labelled pixels checked
// (no grid), each segment walked with the Bresenham of core/kernels/link.hpp (the one DESIGN §2
// prescribes), the edge-aware test as written in DESIGN (distance to the endpoints' mean colour,
// in double), the classes covering each pixel kept as a set, and the resolution rule case by case.
#include <bitset>
#include <string>
#include <vector>

#include "core/kernels/link.hpp"
#include "core/op_checks.hpp"
#include "host/reference/reference_backend.hpp"
#include "host/reference/reference_ops.hpp"

namespace pfce {
namespace reference {

namespace {

struct Point {
    int y, x, cls;
};

// Labelled pixels in row-major order; a label neither 255 nor a class is an InputError.
std::vector<Point> labelled_points(const std::uint8_t* labels, int height, int width,
                                   const std::string& what) {
    std::vector<Point> points;
    for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
            const int v = labels[y * width + x];
            if (v == kUnlabelled) continue;
            if (v >= kMaxClasses)
                PFCE_THROW(InputError, what, ": pixel (y=", y, ", x=", x, ") has label ", v,
                           "; expected a class below ", kMaxClasses, " or 255 (unlabelled)");
            points.push_back({y, x, v});
        }
    return points;
}

// True when no pixel of the segment differs from the mean RGB of its two endpoints by more than
// max_step (Euclidean distance, compared squared). rgb is one image, planar (3,H,W).
bool colours_close(const LinkSegment& s, const std::vector<std::pair<int, int>>& pixels,
                   const std::uint8_t* rgb, int height, int width, float max_step) {
    const std::size_t plane = static_cast<std::size_t>(height) * width;
    for (const auto& [y, x] : pixels) {
        double d2 = 0.0;
        for (int c = 0; c < 3; ++c) {
            const std::uint8_t* ch = rgb + c * plane;
            const double mean = (ch[s.y0 * width + s.x0] + ch[s.y1 * width + s.x1]) / 2.0;
            const double d = ch[y * width + x] - mean;
            d2 += d * d;
        }
        if (d2 > static_cast<double>(max_step) * static_cast<double>(max_step)) return false;
    }
    return true;
}

}  // namespace

std::vector<LinkSegment> link_segments(const std::uint8_t* labels, int height, int width,
                                       int radius) {
    const std::vector<Point> pts = labelled_points(labels, height, width, "label map");
    std::vector<LinkSegment> out;
    const long long r2 = 1LL * radius * radius;
    for (std::size_t i = 0; i < pts.size(); ++i)
        for (std::size_t j = i + 1; j < pts.size(); ++j) {
            const Point &a = pts[i], &b = pts[j];  // a before b in row-major order
            const long long dx = b.x - a.x, dy = b.y - a.y;
            if (a.cls == b.cls && dx * dx + dy * dy <= r2)
                out.push_back({a.cls, a.y, a.x, b.y, b.x});
        }
    return out;
}

}  // namespace reference

LinkStats ReferenceBackend::link(const Tensor& sparse, const Tensor& rgb, const LinkParams& p,
                                 Tensor& linked) {
    check_link_args(sparse, rgb, p, linked, DeviceKind::cpu);
    const int n = static_cast<int>(sparse.dim(0)), h = static_cast<int>(sparse.dim(1)),
              w = static_cast<int>(sparse.dim(2));
    const std::size_t plane = static_cast<std::size_t>(h) * w;
    LinkStats st;
    for (int i = 0; i < n; ++i) {
        const std::uint8_t* in = sparse.data<std::uint8_t>() + i * plane;
        std::uint8_t* out = linked.data<std::uint8_t>() + i * plane;
        const std::string what = "image " + std::to_string(i) + " of the batch";
        st.points += static_cast<std::int64_t>(reference::labelled_points(in, h, w, what).size());
        std::vector<std::bitset<kMaxClasses>> covered(
            plane);  // classes whose segments cover a pixel
        for (const reference::LinkSegment& s : reference::link_segments(in, h, w, p.radius)) {
            ++st.pairs;
            std::vector<std::pair<int, int>> pixels;
            kernels::bresenham(s.y0, s.x0, s.y1, s.x1,
                               [&](int y, int x) { pixels.emplace_back(y, x); });
            if (p.max_color_step >= 0.0f &&
                !reference::colours_close(s, pixels, rgb.data<std::uint8_t>() + i * 3 * plane, h, w,
                                          p.max_color_step))
                continue;
            ++st.segments;
            for (const auto& [y, x] : pixels)
                covered[static_cast<std::size_t>(y) * w + x].set(s.cls);
        }
        for (std::size_t k = 0; k < plane; ++k) {
            const std::bitset<kMaxClasses>& cls = covered[k];
            int lowest = 0;
            while (cls.any() && !cls.test(static_cast<std::size_t>(lowest))) ++lowest;
            if (in[k] != kUnlabelled)
                out[k] = in[k];  // a labelled pixel keeps its label
            else if (cls.count() == 1)
                out[k] = static_cast<std::uint8_t>(lowest);  // one class: it
            else if (cls.count() > 1 && p.conflict == LinkConflict::lowest)
                out[k] = static_cast<std::uint8_t>(lowest);  // a conflict, resolved to the lowest
            else
                out[k] = kUnlabelled;  // nothing, or a conflict left unlabelled
            st.labelled_after += out[k] != kUnlabelled;
        }
    }
    return st;
}

}  // namespace pfce
