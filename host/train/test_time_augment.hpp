// Test-time augmentation for segmentation: the model sees each window under several of the eight
// symmetries of the square (mirrors and transposes), every prediction is mapped back to the
// window's own orientation, and the logits are averaged. Aerial images have no "up", so a model's
// errors under these symmetries are partly independent, and averaging them is the standard
// inference trick of aerial segmentation (ttach's d4_transform, in most ISPRS and DeepGlobe
// entries).
#pragma once

#include <cstddef>
#include <string>

namespace pfce {

// How many symmetries are averaged: 1 (none), 4 (flips: both mirrors and their product, the
// half-turn) or 8 (d4: the flips, each followed by a transpose; all four rotations and mirrors).
int tta_transforms(const std::string& name);  // "none" | "flips" | "d4", else InputError
const char* tta_name(int transforms);         // the name of 1, 4 or 8

// Where pixel (y, x) of an h x w plane lands under symmetry t (0..7; bit 0 mirrors left-right,
// bit 1 mirrors top-bottom, bit 2 then transposes, making the plane w x h), as an index into the
// transformed plane. One map serves both directions, so a transform and its inverse always agree.
inline std::size_t dihedral_index(int y, int x, int h, int w, int t) {
    if (t & 1) x = w - 1 - x;
    if (t & 2) y = h - 1 - y;
    return (t & 4) ? static_cast<std::size_t>(x) * static_cast<std::size_t>(h) + y
                   : static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + x;
}

// dst (the transformed plane) = symmetry t of src (h x w).
void dihedral_forward(const float* src, int h, int w, int t, float* dst);
// dst (h x w) += src mapped back from symmetry t (src is the transformed plane).
void dihedral_add_back(const float* src, int h, int w, int t, float* dst);

}  // namespace pfce
