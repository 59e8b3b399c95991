// Optimizer steps, clipping and LR schedules against hand-computed values (the step values were
// cross-checked with torch.optim in double precision), and the CUDA ops against the CPU backend.
// The ops against the reference on many sizes are in the op harness (test_backend_ops.cpp).
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/kernels/multi_tensor.hpp"
#include "core/kernels/optim.hpp"
#include "host/train/lr_schedule.hpp"
#include "host/train/optimizer.hpp"
#include "tests/test_util.hpp"

namespace pfce {
namespace {

Tensor host_vec(const std::vector<float>& v) {
    Tensor t = Tensor::host({static_cast<std::int64_t>(v.size())}, DType::f32);
    for (std::size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
    return t;
}

Tensor scalar(float v) {
    return host_vec({v});
}

const std::vector<float> kW0 = {1.0f, -2.0f, 0.5f, 0.0f};
const std::vector<std::vector<float>> kGrads = {
    {0.1f, -0.3f, 0.7f, -1.2f}, {0.2f, 0.1f, -0.5f, 0.3f}, {-0.4f, 0.25f, 0.05f, 0.9f}};

// Runs three steps of `kind` on one parameter with the gradients above (lr 0.1, wd 0.1 where
// given) and checks the weights after each step.
void check_steps(OptimizerKind kind, float wd, float momentum,
                 const std::vector<std::vector<double>>& expected) {
    auto b = test::cpu_backend();
    Parameter p{"w", host_vec(kW0), Tensor::host({4}, DType::f32), true};
    OptimizerConfig cfg;
    cfg.kind = kind;
    cfg.weight_decay = wd;
    cfg.momentum = momentum;
    Optimizer opt(*b, {&p}, cfg);
    Tensor one = scalar(1.0f);
    for (std::size_t s = 0; s < kGrads.size(); ++s) {
        for (int i = 0; i < 4; ++i)
            p.grad.data<float>()[i] = kGrads[s][static_cast<std::size_t>(i)];
        opt.step(0.1f, one);
        for (int i = 0; i < 4; ++i)
            EXPECT_NEAR(p.value.data<float>()[i], expected[s][static_cast<std::size_t>(i)], 2e-6)
                << kOptimizerKinds.name(kind) << " step " << s + 1 << " element " << i;
    }
    EXPECT_EQ(opt.steps_taken(), 3);
}

// Three steps of an optimizer (lr 0.1) and the weights expected after each, computed by hand or
// with torch.optim in double.
struct StepCase {
    struct Setting {
        const char* name;
        OptimizerKind kind;
        float wd, momentum;
    } setting;
    std::vector<std::vector<double>> expected;
};

// Adam with L2 weight decay; "adam" is torch.optim.Adam, whose weight decay is the same L2 term.
const std::vector<std::vector<double>> kAdamL2Weights = {
    {0.900000005, -1.9, 0.400000001, 0.0999999992},
    {0.80070332, -1.82086603, 0.381809253, 0.146252735},
    {0.786862105, -1.76870809, 0.361441926, 0.137055655}};

const StepCase kStepCases[] = {
    // Step 1 by hand: d = 0.1 + 0.1*1.0 = 0.2, buf = 0.2, w = 1 - 0.1*0.2 = 0.98.
    {{"SgdMomentumWithWeightDecay", OptimizerKind::sgd, 0.1f, 0.9f},
     {{0.98, -1.95, 0.425, 0.12},
      {0.9322, -1.8955, 0.40325, 0.1968},
      {0.919858, -1.852495, 0.3746425, 0.173952}}},
    {{"SgdWithoutMomentum", OptimizerKind::sgd, 0.0f, 0.0f},
     {{0.99, -1.97, 0.43, 0.12}, {0.97, -1.98, 0.48, 0.09}, {1.01, -2.005, 0.475, 0.0}}},
    // Step 1 by hand: m/(sqrt(v)) after bias correction is sign(g), so w -= lr*sign(g).
    {{"AdamPlain", OptimizerKind::adam, 0.0f, 0.0f},
     {{0.90000001, -1.9, 0.400000001, 0.0999999992},
      {0.803481814, -1.85997815, 0.388750737, 0.146946816},
      {0.822861258, -1.87535874, 0.376359854, 0.138672977}}},
    {{"AdamWithL2", OptimizerKind::adam_l2, 0.1f, 0.0f}, kAdamL2Weights},
    {{"AdamWeightDecayIsL2", OptimizerKind::adam, 0.1f, 0.0f}, kAdamL2Weights},
    // Step 1 by hand, element 0: w = 1*(1 - 0.1*0.1) - 0.1*sign(0.1) = 0.89.
    {{"AdamWDecoupled", OptimizerKind::adamw, 0.1f, 0.0f},
     {{0.89000001, -1.88, 0.395000001, 0.0999999992},
      {0.784581813, -1.82117815, 0.379800737, 0.145946816},
      {0.79611544, -1.81834696, 0.363611847, 0.136213509}}},
};

class OptimSteps : public ::testing::TestWithParam<StepCase> {};

TEST_P(OptimSteps, MatchExpectedWeights) {
    const StepCase& c = GetParam();
    check_steps(c.setting.kind, c.setting.wd, c.setting.momentum, c.expected);
}

INSTANTIATE_TEST_SUITE_P(Optim, OptimSteps, ::testing::ValuesIn(kStepCases),
                         [](const ::testing::TestParamInfo<StepCase>& step_case) {
                             return std::string(step_case.param.setting.name);
                         });

// ε is added to √v̂ after the bias correction, as torch.optim.Adam does: a gradient as small as ε
// steps lr/2 (ε inside the root would step lr·1e-4, TensorFlow's ε before the correction lr·0.03),
// which the step tests' tolerance at ε = 1e-8 cannot tell apart (semantics audit).
TEST(Optim, AdamAddsEpsilonToTheBiasCorrectedRoot) {
    auto b = test::cpu_backend();
    for (const OptimizerKind kind : {OptimizerKind::adam, OptimizerKind::adamw}) {
        Parameter p{"w", host_vec({1.0f, -1.0f}), Tensor::host({2}, DType::f32), true};
        OptimizerConfig cfg;
        cfg.kind = kind;
        cfg.eps = 1e-8f;
        Optimizer opt(*b, {&p}, cfg);
        p.grad.data<float>()[0] = 1e-8f;
        p.grad.data<float>()[1] = -1e-8f;
        Tensor one = scalar(1.0f);
        opt.step(0.1f, one);
        EXPECT_NEAR(p.value.data<float>()[0], 0.95f, 1e-5f) << kOptimizerKinds.name(kind);
        EXPECT_NEAR(p.value.data<float>()[1], -0.95f, 1e-5f) << kOptimizerKinds.name(kind);
    }
}

TEST(Optim, DecayFlagAndGradScale) {
    auto b = test::cpu_backend();
    Parameter w{"w", host_vec({1.0f}), host_vec({0.1f}), true};
    Parameter bias{"b", host_vec({1.0f}), host_vec({0.1f}), false};
    OptimizerConfig cfg;
    cfg.kind = OptimizerKind::sgd;
    cfg.momentum = 0.9f;
    cfg.weight_decay = 0.1f;
    Optimizer opt(*b, {&w, &bias}, cfg);
    opt.step(0.1f, scalar(0.5f));
    // w: d = 0.1*0.5 + 0.1*1 = 0.15 -> 0.985; bias (no decay): d = 0.05 -> 0.995.
    EXPECT_NEAR(w.value.data<float>()[0], 0.985f, 1e-7);
    EXPECT_NEAR(bias.value.data<float>()[0], 0.995f, 1e-7);
    ASSERT_EQ(opt.state().size(), 2u);
    EXPECT_EQ(opt.state()[0].name, "optim.momentum.w");
}

// ---- the step scalars ------------------------------------------------------------------------

std::uint32_t bits(float f) {
    return std::bit_cast<std::uint32_t>(f);
}

// begin_step writes the documented bias corrections of the new step count (in double, each rounded
// once to float) with the step's lr: steps 1, 2, then 1000 (as a resumed run continues), the lr
// changing each time. From them come the coefficients the element update took as parameters
// before the scalars moved to a tensor (AdamW's decay factor 1 - lr*wd in float).
TEST(Optim, StepScalarsAreTheBiasCorrectionsOfTheStepCount) {
    auto b = test::cpu_backend();
    Parameter p{"w", host_vec({1.0f}), host_vec({0.0f}), true};
    OptimizerConfig cfg;  // betas 0.9 and 0.999
    cfg.kind = OptimizerKind::adamw;
    cfg.weight_decay = 0.01f;
    Optimizer opt(*b, {&p}, cfg);
    const Tensor& scalars = opt.step_scalars();
    const struct {
        std::int64_t t;
        float lr;
    } steps[] = {{1, 0.1f}, {2, 0.03f}, {1000, 7e-4f}};
    for (const auto& s : steps) {
        SCOPED_TRACE(s.t);
        opt.set_steps_taken(s.t - 1);
        opt.begin_step(s.lr);
        EXPECT_EQ(opt.steps_taken(), s.t);
        const double t = static_cast<double>(s.t);
        const float step_size = static_cast<float>(
            static_cast<double>(s.lr) / (1.0 - std::pow(static_cast<double>(cfg.beta1), t)));
        const float bc2_sqrt =
            static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(cfg.beta2), t)));
        const float* got = scalars.data<float>();
        EXPECT_EQ(bits(got[kOptimLr]), bits(s.lr));
        EXPECT_EQ(bits(got[kOptimStepSize]), bits(step_size));
        EXPECT_EQ(bits(got[kOptimBc2Sqrt]), bits(bc2_sqrt));

        for (WeightDecayMode mode : {WeightDecayMode::decoupled, WeightDecayMode::l2}) {
            AdamParams ap;
            ap.weight_decay = cfg.weight_decay;
            ap.decay_mode = mode;
            const bool decoupled = mode == WeightDecayMode::decoupled;
            const kernels::AdamCoefficients c = kernels::adam_coefficients(ap, got);
            EXPECT_EQ(bits(c.step_size), bits(step_size));
            EXPECT_EQ(bits(c.bc2_sqrt), bits(bc2_sqrt));
            EXPECT_EQ(bits(c.decay_factor), bits(decoupled ? 1.0f - s.lr * ap.weight_decay : 1.0f));
            EXPECT_EQ(bits(c.l2), bits(decoupled ? 0.0f : ap.weight_decay));
            EXPECT_EQ(bits(c.b1), bits(ap.beta1));
            EXPECT_EQ(bits(c.b2), bits(ap.beta2));
            EXPECT_EQ(bits(c.eps), bits(ap.eps));
        }
    }
    Optimizer sgd(*b, {&p}, OptimizerConfig{.kind = OptimizerKind::sgd});
    sgd.begin_step(0.25f);
    EXPECT_EQ(sgd.step_scalars().data<float>()[kOptimLr], 0.25f);
}

// Whole steps through the optimizer on the CPU backend and the reference, bit for bit against the
// documented formulas computed in double: steps 1, 2 and 1000 (after a resume), the lr changing at
// each. The numbers make every operation of the update exact in float (dyadic values; beta1 0.5,
// beta2 0 and eps 0 so that m / sqrt(v) is exact when |g| is a power of two; lrs that make
// lr / (1 - beta1^t) one too), so the bits do not depend on which multiply-adds a build fuses into
// one FMA (GCC does in C++ where the target has FMA, as the CPU backend's -march=native build
// does): a difference is a changed formula or a stale scalar, never a rounding.
void check_exact_steps(Backend& b, OptimizerKind kind) {
    SCOPED_TRACE(std::string(b.name()) + " " + kOptimizerKinds.name(kind));
    const bool sgd = kind == OptimizerKind::sgd;
    const bool decoupled = kind == OptimizerKind::adamw;
    OptimizerConfig cfg;
    cfg.kind = kind;
    cfg.momentum = 0.5f;
    cfg.beta1 = 0.5f;
    cfg.beta2 = 0.0f;
    cfg.eps = 0.0f;
    cfg.weight_decay = decoupled ? 2.0f : 0.25f;
    const double scale = 0.5, wd = cfg.weight_decay, b1 = cfg.beta1, b2 = cfg.beta2;
    const std::vector<double> w0 = {1.0, -2.0, 0.5, 0.0};
    std::vector<double> w = w0, m(4, 0.0), v(4, 0.0);
    Parameter p{"w", host_vec({1.0f, -2.0f, 0.5f, 0.0f}), Tensor::host({4}, DType::f32), true};
    Optimizer opt(b, {&p}, cfg);
    Tensor one = scalar(scale);
    // The step count, the lr, and the scaled gradient g*scale (+ wd*w for Adam+L2) wanted, whose
    // magnitude is a power of two.
    const struct {
        std::int64_t t;
        double lr;
        std::vector<double> g;
    } steps[] = {{1, 0.0625, {0.5, -0.25, 1.0, -2.0}},
                 {2, 0.09375, {-0.25, -0.5, 0.125, 1.0}},
                 {1000, 0.03125, {1.0, 0.25, -0.5, -0.125}}};
    for (const auto& s : steps) {
        SCOPED_TRACE(s.t);
        for (std::size_t i = 0; i < 4; ++i) {
            const double l2 = sgd || decoupled ? 0.0 : wd * w[i];
            const double g = (s.g[i] - l2) / scale;  // the gradient that makes it so
            ASSERT_EQ(static_cast<double>(static_cast<float>(g)), g);
            p.grad.data<float>()[i] = static_cast<float>(g);
            if (sgd) {  // PyTorch SGD, buffer m
                m[i] = 0.5 * m[i] + (g * scale + wd * w[i]);
                w[i] -= s.lr * m[i];
                continue;
            }
            // PyTorch Adam / AdamW
            const double gs = g * scale + l2;
            if (decoupled) w[i] *= 1.0 - s.lr * wd;
            m[i] = b1 * m[i] + (1.0 - b1) * gs;
            v[i] = b2 * v[i] + (1.0 - b2) * gs * gs;
            const double t = static_cast<double>(s.t);
            const double m_hat = m[i] / (1.0 - std::pow(b1, t)),
                         v_hat = v[i] / (1.0 - std::pow(b2, t));
            w[i] -= s.lr * m_hat / (std::sqrt(v_hat) + cfg.eps);
        }
        opt.set_steps_taken(s.t - 1);
        opt.step(static_cast<float>(s.lr), one);
        for (std::size_t i = 0; i < 4; ++i) {
            EXPECT_EQ(bits(p.value.data<float>()[i]), bits(static_cast<float>(w[i])))
                << "element " << i << ": " << p.value.data<float>()[i] << " vs " << w[i];
            EXPECT_EQ(bits(opt.state()[0].value->data<float>()[i]), bits(static_cast<float>(m[i])))
                << "element " << i;
        }
    }
}

TEST(Optim, StepsAreTheDocumentedFormulasBitForBit) {
    auto cpu = test::cpu_backend();
    auto ref = test::reference_backend();
    for (OptimizerKind kind : {OptimizerKind::sgd, OptimizerKind::adam_l2, OptimizerKind::adamw}) {
        check_exact_steps(*cpu, kind);
        check_exact_steps(*ref, kind);
    }
}

// apply() reads the step scalars when it runs, not when begin_step wrote them: a value put into
// the tensor between two applies (as the host does before replaying a captured step) is the one
// the update uses, the lr of AdamW's decay included.
void check_apply_reads_the_scalars(Backend& b) {
    auto set_scalars = [&](Optimizer& opt, const kernels::StepScalars& s) {
        b.copy(opt.step_scalars(), host_vec(std::vector<float>(s.begin(), s.end())));
    };
    const Tensor one = test::to_backend(b, scalar(1.0f));
    Parameter w{"w", test::to_backend(b, host_vec({1.0f})), test::to_backend(b, host_vec({0.5f})),
                false};
    Optimizer sgd(b, {&w}, OptimizerConfig{.kind = OptimizerKind::sgd, .momentum = 0.0f});
    sgd.begin_step(0.125f);
    sgd.apply(one);  // 1 - 0.125*0.5
    set_scalars(sgd, kernels::sgd_step_scalars(0.5f));
    sgd.apply(one);  // 0.9375 - 0.5*0.5
    EXPECT_EQ(test::to_host(b, w.value).data<float>()[0], 0.6875f);

    Parameter a{"a", test::to_backend(b, host_vec({1.0f})), test::to_backend(b, host_vec({0.5f})),
                true};
    Optimizer adamw(b, {&a}, OptimizerConfig{.kind = OptimizerKind::adamw, .weight_decay = 0.5f});
    adamw.begin_step(0.1f);
    // lr 0.5 and a step size of 0: the weight only decays, by 1 - 0.5*0.5.
    set_scalars(adamw, {0.5f, 0.0f, 1.0f});
    adamw.apply(one);
    EXPECT_EQ(test::to_host(b, a.value).data<float>()[0], 0.75f);
    EXPECT_EQ(adamw.steps_taken(), 1);
}

TEST(Optim, ApplyReadsTheStepScalarsWhenItRuns) {
    auto b = test::cpu_backend();
    check_apply_reads_the_scalars(*b);
}

TEST(Optim, StepScalarsOfTheWrongShapeAreRejected) {
    auto b = test::cpu_backend();
    Tensor w = host_vec({1.0f}), g = host_vec({0.5f}), m = host_vec({0.0f}), v = host_vec({0.0f});
    const SgdSlot sgd[] = {{&w, &g, nullptr, 0.0f}};
    const AdamSlot adam[] = {{&w, &g, &m, &v, 0.0f}};
    const Tensor one = scalar(1.0f), lr_only = scalar(0.1f);
    EXPECT_MESSAGE_HAS(test::error_message<ShapeError>([&] {
                           b->sgd_steps(sgd, one, lr_only, SgdParams{0.0f, 0.0f});
                       }),
                       "step_scalars must be a host f32 tensor of 3 elements");
    EXPECT_THROW(b->adam_steps(adam, one, lr_only, AdamParams{}), ShapeError);
    Tensor ints = Tensor::host({kOptimScalarCount}, DType::i32);
    EXPECT_THROW(b->adam_steps(adam, one, ints, AdamParams{}), ShapeError);
}

TEST(Optim, UnknownOptimizerNameIsRejected) {
    EXPECT_EQ(kOptimizerKinds.parse("adamw"), OptimizerKind::adamw);
    // The tables list names in enumerator order: every value survives a round trip.
    for (OptimizerKind k :
         {OptimizerKind::sgd, OptimizerKind::adam, OptimizerKind::adamw, OptimizerKind::adam_l2})
        EXPECT_EQ(kOptimizerKinds.parse(kOptimizerKinds.name(k)), k);
    EXPECT_STREQ(kOptimizerKinds.name(OptimizerKind::adam_l2), "adam_l2");
    EXPECT_STREQ(kScheduleKinds.name(ScheduleKind::plateau), "plateau");
    EXPECT_STREQ(kScheduleKinds.name(ScheduleKind::constant), "constant");
    try {
        kOptimizerKinds.parse("adamx", "run.toml [train] optimizer");
        FAIL() << "no error";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("adamx"), std::string::npos);
        EXPECT_NE(std::string(e.what()).find("run.toml"), std::string::npos);
    }
}

TEST(Optim, GlobalNormAndClipScaleToExactNorm) {
    auto b = test::cpu_backend();
    Tensor g1 = host_vec({3.0f, 0.0f}), g2 = host_vec({4.0f, 12.0f});  // norm 13
    const Tensor* grads[] = {&g1, &g2};
    Tensor norm = scalar(0), scale = scalar(0);
    b->global_grad_norm(grads, norm);
    EXPECT_FLOAT_EQ(norm.data<float>()[0], 13.0f);
    b->clip_scale(norm, 1.0f, scale);
    EXPECT_FLOAT_EQ(scale.data<float>()[0], 1.0f / (13.0f + 1e-6f));
    b->clip_scale(norm, 100.0f, scale);
    EXPECT_EQ(scale.data<float>()[0], 1.0f);  // never scales up
    b->clip_scale(norm, 0.0f, scale);
    EXPECT_EQ(scale.data<float>()[0], 1.0f);  // 0 = clipping off

    // After scaling, the gradients an optimizer reads have norm max_norm (to float rounding).
    b->clip_scale(norm, 2.5f, scale);
    double s2 = 0;
    for (const Tensor* g : grads)
        for (int i = 0; i < 2; ++i) {
            const double x = static_cast<double>(g->data<float>()[i]) * scale.data<float>()[0];
            s2 += x * x;
        }
    EXPECT_NEAR(std::sqrt(s2), 2.5, 1e-5);
}

// ---- schedules ------------------------------------------------------------------------------

TEST(Schedule, ConstantAndStep) {
    ScheduleConfig c;
    c.base_lr = 0.1;
    EXPECT_DOUBLE_EQ(LrSchedule(c).lr(1000, 7), 0.1);
    c.kind = ScheduleKind::step;
    c.step_size = 3;
    c.gamma = 0.5;
    LrSchedule s(c);
    EXPECT_DOUBLE_EQ(s.lr(0, 0), 0.1);
    EXPECT_DOUBLE_EQ(s.lr(0, 2), 0.1);
    EXPECT_DOUBLE_EQ(s.lr(0, 3), 0.05);
    EXPECT_DOUBLE_EQ(s.lr(0, 7), 0.025);
}

TEST(Schedule, CosineWithWarmup) {
    ScheduleConfig c{.kind = ScheduleKind::cosine,
                     .base_lr = 0.1,
                     .warmup_steps = 4,
                     .total_steps = 12,
                     .min_lr = 0.0};
    LrSchedule s(c);
    EXPECT_DOUBLE_EQ(s.lr(0, 0), 0.025);
    EXPECT_DOUBLE_EQ(s.lr(1, 0), 0.05);
    EXPECT_DOUBLE_EQ(s.lr(3, 0), 0.1);
    EXPECT_NEAR(s.lr(4, 0), 0.1, 1e-15);
    EXPECT_NEAR(s.lr(6, 0), 0.05 * (1 + std::sqrt(0.5)), 1e-12);  // t = 1/4: cos(pi/4)
    EXPECT_NEAR(s.lr(8, 0), 0.05, 1e-12);                         // half way
    EXPECT_NEAR(s.lr(12, 0), 0.0, 1e-12);
    EXPECT_NEAR(s.lr(20, 0), 0.0, 1e-12);  // clamped past the end
    c.min_lr = 0.01;
    EXPECT_NEAR(LrSchedule(c).lr(8, 0), 0.01 + 0.045, 1e-12);
}

TEST(Schedule, PlateauMinWithPatienceThresholdAndMinLr) {
    const ScheduleConfig c{.kind = ScheduleKind::plateau,
                           .base_lr = 1.0,
                           .min_lr = 0.2,
                           .factor = 0.5,
                           .patience = 2,
                           .threshold = 1e-4};
    LrSchedule s(c);
    // Same sequence through torch.optim.lr_scheduler.ReduceLROnPlateau gives these lrs.
    const std::vector<double> metric = {1.0,     0.9,     0.95, 0.95, 0.95, 0.95, 0.89, 0.88995,
                                        0.88995, 0.88995, 0.7,  0.7,  0.7,  0.7,  0.7,  0.7};
    const std::vector<double> lr = {1.0, 1.0,  1.0,  1.0,  0.5,  0.5, 0.5, 0.5,
                                    0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2};
    for (std::size_t i = 0; i < metric.size(); ++i) {
        s.end_epoch(metric[i]);
        EXPECT_DOUBLE_EQ(s.lr(0, 0), lr[i]) << "after epoch " << i;
    }
}

TEST(Schedule, PlateauMaxAbsoluteWithCooldownAndStateRoundTrip) {
    const ScheduleConfig c{.kind = ScheduleKind::plateau,
                           .base_lr = 1.0,
                           .plateau_max = true,
                           .factor = 0.1,
                           .patience = 1,
                           .threshold = 0.01,
                           .threshold_abs = true,
                           .cooldown = 2};
    LrSchedule s(c);
    const std::vector<double> metric = {0.1, 0.2, 0.2, 0.2, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2};
    const std::vector<double> lr = {1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01};
    for (std::size_t i = 0; i < 5; ++i) {
        s.end_epoch(metric[i]);
        EXPECT_NEAR(s.lr(0, 0), lr[i], 1e-12) << "after epoch " << i;
    }
    LrSchedule resumed(c);  // a resumed run continues exactly
    resumed.load_state(s.state());
    for (std::size_t i = 5; i < metric.size(); ++i) {
        resumed.end_epoch(metric[i]);
        EXPECT_NEAR(resumed.lr(0, 0), lr[i], 1e-12) << "after epoch " << i;
    }
    EXPECT_THROW(kScheduleKinds.parse("linear"), InputError);
}

// ---- GPU against CPU --------------------------------------------------------------------------

TEST(OptimGpu, StepsNormAndClipMatchCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    // Odd sizes exercise the grid-stride loops and the per-tensor reduction grids.
    const std::vector<std::int64_t> sizes = {1, 255, 257, 100003, 1 << 20};
    std::vector<Tensor> hg;
    for (std::size_t i = 0; i < sizes.size(); ++i)
        hg.push_back(test::random_f32({sizes[i]}, 11 + i));
    std::vector<Tensor> dg;
    for (auto& t : hg) dg.push_back(test::to_backend(*gpu, t));
    std::vector<const Tensor*> hp, dp;
    for (auto& t : hg) hp.push_back(&t);
    for (auto& t : dg) dp.push_back(&t);
    Tensor hn = scalar(0), dn = gpu->zeros({1}, DType::f32);
    cpu->global_grad_norm(hp, hn);
    gpu->global_grad_norm(dp, dn);
    EXPECT_TRUE(test::all_close(hn, test::to_host(*gpu, dn), 0, 1e-6));
    // Deterministic: the same call twice gives the same bits.
    Tensor dn2 = gpu->zeros({1}, DType::f32);
    gpu->global_grad_norm(dp, dn2);
    EXPECT_EQ(test::to_host(*gpu, dn).data<float>()[0], test::to_host(*gpu, dn2).data<float>()[0]);

    Tensor hs = scalar(0), ds = gpu->zeros({1}, DType::f32);
    cpu->clip_scale(hn, 3.0f, hs);
    gpu->clip_scale(dn, 3.0f, ds);
    EXPECT_TRUE(test::all_close(hs, test::to_host(*gpu, ds), 0, 1e-6));

    for (OptimizerKind kind : {OptimizerKind::sgd, OptimizerKind::adam_l2, OptimizerKind::adamw}) {
        const std::int64_t n = 100003;
        Parameter hpar{"w", test::random_f32({n}, 3), Tensor::host({n}, DType::f32), true};
        Parameter dpar{"w", test::to_backend(*gpu, hpar.value), gpu->zeros({n}, DType::f32), true};
        OptimizerConfig cfg;
        cfg.kind = kind;
        cfg.weight_decay = 0.01f;
        Optimizer ho(*cpu, {&hpar}, cfg), dop(*gpu, {&dpar}, cfg);
        for (int s = 0; s < 3; ++s) {
            Tensor g = test::random_f32({n}, 100 + s);
            std::memcpy(hpar.grad.raw(), g.raw(), g.bytes());
            gpu->copy(dpar.grad, g);
            ho.step(0.01f, hs);
            dop.step(0.01f, ds);
        }
        EXPECT_TRUE(test::all_close(hpar.value, test::to_host(*gpu, dpar.value), 1e-6, 1e-5))
            << kOptimizerKinds.name(kind);
    }
}

TEST(OptimGpu, ApplyReadsTheStepScalarsWhenItRuns) {
    PFCE_REQUIRE_GPU(gpu);
    check_apply_reads_the_scalars(*gpu);
}

// Every variant of the whole-model ops (per_tensor, multi_tensor) against the CPU on a list longer
// than one multi-tensor launch (kMaxTensorsPerLaunch) with sizes at and around the chunk size.
TEST(OptimGpu, EveryVariantOfTheModelStepMatchesCpu) {
    PFCE_REQUIRE_GPU(gpu);
    auto cpu = test::cpu_backend();
    std::vector<std::int64_t> sizes;
    for (int i = 0; i < kernels::kMaxTensorsPerLaunch + 9; ++i) {
        const std::int64_t pick[] = {1,
                                     16,
                                     0,
                                     kernels::kMultiTensorChunk - 1,
                                     kernels::kMultiTensorChunk,
                                     kernels::kMultiTensorChunk + 1,
                                     100003,
                                     3 * 3 * 16 * 32};
        sizes.push_back(pick[i % 8]);
    }
    const int n = static_cast<int>(sizes.size());
    std::vector<Tensor> hw, hg, dg;
    for (int i = 0; i < n; ++i) {
        hw.push_back(test::random_f32({sizes[i]}, 300 + i));
        hg.push_back(test::random_f32({sizes[i]}, 500 + i));
        dg.push_back(test::to_backend(*gpu, hg[i]));
    }
    std::vector<const Tensor*> hgp, dgp;
    for (int i = 0; i < n; ++i) {
        hgp.push_back(&hg[i]);
        dgp.push_back(&dg[i]);
    }
    Tensor hn = scalar(0);
    cpu->global_grad_norm(hgp, hn);
    Tensor hs = scalar(0.7f);
    const Tensor ds = test::to_backend(*gpu, hs);

    for (const char* op : {"global_grad_norm", "sgd_steps", "adam_steps"})
        ASSERT_EQ(gpu->op_variants(op), (std::vector<std::string>{"per_tensor", "multi_tensor"}))
            << op;
    for (const std::string variant : {"per_tensor", "multi_tensor"}) {
        SCOPED_TRACE(variant);
        for (const char* op : {"global_grad_norm", "sgd_steps", "adam_steps"})
            gpu->select_op_variant(op, variant);
        Tensor dn = gpu->zeros({1}, DType::f32), dn2 = gpu->zeros({1}, DType::f32);
        gpu->global_grad_norm(dgp, dn);
        gpu->global_grad_norm(dgp, dn2);
        EXPECT_TRUE(test::all_close(hn, test::to_host(*gpu, dn), 0, 1e-6));
        EXPECT_EQ(test::to_host(*gpu, dn).data<float>()[0],
                  test::to_host(*gpu, dn2).data<float>()[0])
            << "the norm is deterministic";

        // Three SGD (momentum) and three Adam+L2 steps, weight decay on every other tensor.
        auto run = [&](Backend& b, const std::vector<const Tensor*>& grads, const Tensor& scale) {
            std::vector<Tensor> w, w2, buf, m, v;
            for (int i = 0; i < n; ++i) {
                w.push_back(test::to_backend(b, hw[i]));
                w2.push_back(test::to_backend(b, hw[i]));
                buf.push_back(b.zeros({sizes[i]}, DType::f32));
                m.push_back(b.zeros({sizes[i]}, DType::f32));
                v.push_back(b.zeros({sizes[i]}, DType::f32));
            }
            std::vector<SgdSlot> sgd;
            std::vector<AdamSlot> adam;
            for (int i = 0; i < n; ++i) {
                const float wd = i % 2 ? 0.0f : 0.01f;
                sgd.push_back({&w[i], grads[i], &buf[i], wd});
                adam.push_back({&w2[i], grads[i], &m[i], &v[i], wd});
            }
            AdamParams ap;
            ap.decay_mode = WeightDecayMode::l2;
            const Tensor sgd_scalars = test::step_scalars(b, kernels::sgd_step_scalars(0.05f));
            for (int s = 0; s < 3; ++s) {
                b.sgd_steps(sgd, scale, sgd_scalars, SgdParams{0.9f, 0.0f});
                const Tensor adam_scalars = test::step_scalars(
                    b, kernels::adam_step_scalars(1e-3f, ap.beta1, ap.beta2, s + 1));
                b.adam_steps(adam, scale, adam_scalars, ap);
            }
            std::vector<Tensor> out;
            for (int i = 0; i < n; ++i) {
                out.push_back(test::to_host(b, w[i]));
                out.push_back(test::to_host(b, w2[i]));
            }
            return out;
        };
        const std::vector<Tensor> want = run(*cpu, hgp, hs), got = run(*gpu, dgp, ds);
        ASSERT_EQ(want.size(), got.size());
        for (std::size_t i = 0; i < want.size(); ++i)
            EXPECT_TRUE(test::all_close(want[i], got[i], 1e-6, 1e-5))
                << (i % 2 ? "adam" : "sgd") << " tensor " << i / 2 << " of size " << sizes[i / 2];
    }
}

}  // namespace
}  // namespace pfce
