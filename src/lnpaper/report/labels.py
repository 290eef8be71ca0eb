"""Human-readable names for columns and values, in Vietnamese (default) and English.

CSV files keep the machine names (``growth_rate_mean``); Markdown, LaTeX and figures use these.
Unknown keys fall back to the key itself, so a new column never breaks a table.
"""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    # columns
    "b_dist": {"vi": "Phân phối B", "en": "B distribution"},
    "n": {"vi": "n", "en": "n"},
    "scale": {"vi": "Hệ số s", "en": "Scale s"},
    "scale_source": {"vi": "Nguồn", "en": "Source"},
    "paper_behavior": {"vi": "Bài báo nói", "en": "Paper says"},
    "measured_behavior": {"vi": "Đo được", "en": "Measured"},
    "growth_rate_mean": {"vi": "Tốc độ tăng ln‖A‖/bước", "en": "Growth rate of ln‖A‖/step"},
    "growth_rate_ci": {"vi": "KTC 95%", "en": "95% CI"},
    "growth_rate_theory": {"vi": "Lý thuyết", "en": "Theory"},
    "growth_factor": {"vi": "Hệ số/bước", "en": "Factor/step"},
    "overflow_step_median": {
        "vi": "Bước tràn fp32 (trung vị)",
        "en": "fp32 overflow step (median)",
    },
    "entry_overflow_step_median": {
        "vi": "Bước tràn phần tử fp32 (trung vị)",
        "en": "fp32 entry overflow step (median)",
    },
    "ln_norm": {"vi": "‖LN(A_K)‖", "en": "‖LN(A_K)‖"},
    "critical_scale_theory": {"vi": "s* lý thuyết", "en": "s* theory"},
    "critical_scale_measured": {"vi": "s* đo được", "en": "s* measured"},
    "shape": {"vi": "Kích thước", "en": "Shape"},
    "normalized_over": {"vi": "Chuẩn hóa theo", "en": "Normalized over"},
    "group_size": {"vi": "Cỡ nhóm k", "en": "Group size k"},
    "stage": {"vi": "Giai đoạn", "en": "Stage"},
    "mean": {"vi": "Trung bình", "en": "Mean"},
    "max_abs_group_mean": {"vi": "max |TB nhóm|", "en": "max |group mean|"},
    "std_biased": {"vi": "Std (chệch, 1/k)", "en": "Std (biased, 1/k)"},
    "std_unbiased": {"vi": "Std (không chệch, 1/(k-1))", "en": "Std (unbiased, 1/(k-1))"},
    "std_unbiased_theory": {"vi": "Std không chệch lý thuyết", "en": "Unbiased std theory"},
    "pearson_r": {"vi": "Hệ số r", "en": "Pearson r"},
    "pearson_r_mean": {"vi": "r đo được", "en": "r measured"},
    "pearson_r_ci": {"vi": "KTC 95%", "en": "95% CI"},
    "pearson_r_theory": {"vi": "r lý thuyết", "en": "r theory"},
    "source": {"vi": "Dữ liệu", "en": "Data"},
    "input_mean": {"vi": "TB đầu vào", "en": "Input mean"},
    "n_seeds": {"vi": "Số seed", "en": "Seeds"},
    "gamma": {"vi": "γ", "en": "γ"},
    "beta": {"vi": "β", "en": "β"},
    "mean_theory": {"vi": "TB lý thuyết (= β)", "en": "Mean theory (= β)"},
    "std_biased_theory": {"vi": "Std lý thuyết γ√(v/(v+ε))", "en": "Std theory γ√(v/(v+ε))"},
    "max_abs_mean_error": {"vi": "max |sai số TB|", "en": "max |mean error|"},
    "max_abs_std_error": {"vi": "max |sai số std|", "en": "max |std error|"},
    "claim_id": {"vi": "Mã", "en": "ID"},
    "section": {"vi": "Mục", "en": "Section"},
    "claim": {"vi": "Phát biểu của bài báo", "en": "The paper's statement"},
    "measured": {"vi": "Đo được", "en": "Measured"},
    "theory": {"vi": "Lý thuyết", "en": "Theory"},
    "verdict": {"vi": "Kết luận", "en": "Verdict"},
    "condition": {"vi": "Điều kiện", "en": "Condition"},
    "value": {"vi": "Giá trị chính", "en": "Headline value"},
    "sigma": {"vi": "σ đầu vào", "en": "Input σ"},
    "output_std_torch": {"vi": "Std ra nn.LayerNorm", "en": "nn.LayerNorm output std"},
    "output_std_pytorch_formula": {"vi": "σ/√(σ²+ε)", "en": "σ/√(σ²+ε)"},
    "output_std_paper_formula": {"vi": "σ/(σ+ε) (bài báo)", "en": "σ/(σ+ε) (paper)"},
    "max_abs_diff_pytorch_formula": {"vi": "max |Δ| √(σ²+ε)", "en": "max |Δ| √(σ²+ε)"},
    "max_abs_diff_paper_formula": {"vi": "max |Δ| (σ+ε)", "en": "max |Δ| (σ+ε)"},
    "check": {"vi": "Đẳng thức", "en": "Identity"},
    "setting": {"vi": "Thiết lập", "en": "Setting"},
    "invariant_expected": {"vi": "Kỳ vọng bất biến", "en": "Invariance expected"},
    "max_abs_diff": {"vi": "max |chênh lệch|", "en": "max |difference|"},
    "holds": {"vi": "đúng", "en": "holds"},
    "as_expected": {"vi": "như kỳ vọng", "en": "as expected"},
    "dtype": {"vi": "Kiểu số", "en": "dtype"},
    "method": {"vi": "Cách tính", "en": "Method"},
    "offset": {"vi": "Độ lệch TB", "en": "Offset"},
    "max_abs_error_total": {"vi": "max |sai số| tổng", "en": "max |error| total"},
    "max_abs_error_kernel": {"vi": "max |sai số| thuật toán", "en": "max |error| kernel"},
    "max_abs_error_input_rounding": {
        "vi": "max |sai số| làm tròn đầu vào",
        "en": "max |error| input rounding",
    },
    "finite_output": {"vi": "Đầu ra hữu hạn", "en": "Finite output"},
    # values
    "fails": {"vi": "sai", "en": "fails"},
    "holds_only_if": {"vi": "chỉ đúng nếu", "en": "holds only if"},
    "naive": {"vi": "một lượt E[x²]−E[x]²", "en": "one-pass E[x²]−E[x]²"},
    "two_pass": {"vi": "hai lượt", "en": "two-pass"},
    "welford": {"vi": "Welford", "en": "Welford"},
    "torch": {"vi": "torch (F.layer_norm)", "en": "torch (F.layer_norm)"},
    "decays": {"vi": "suy giảm", "en": "decays"},
    "oscillates": {"vi": "dao động", "en": "oscillates"},
    "explodes": {"vi": "bùng nổ", "en": "explodes"},
    "near-critical": {"vi": "gần tới hạn", "en": "near-critical"},
    "paper": {"vi": "bài báo", "en": "paper"},
    "grid": {"vi": "lưới quanh s*", "en": "grid around s*"},
    "normal": {"vi": "N(0,1)", "en": "N(0,1)"},
    "scaled_normal": {"vi": "N(0,1/n)", "en": "N(0,1/n)"},
    "orthogonal": {"vi": "trực giao (Haar)", "en": "orthogonal (Haar)"},
    "row": {"vi": "hàng", "en": "row"},
    "column": {"vi": "cột", "en": "column"},
    "all": {"vi": "toàn tensor", "en": "whole tensor"},
    "before": {"vi": "trước LN", "en": "before LN"},
    "after": {"vi": "sau LN", "en": "after LN"},
    "iid": {"vi": "nhóm iid", "en": "iid groups"},
    "matrix": {"vi": "ma trận", "en": "matrix"},
    "": {"vi": "", "en": ""},
}


# ---------------------------------------------------------------- training and normalizer comparisons
LABELS.update(
    {
        # columns
        "dataset": {"vi": "Dữ liệu", "en": "Dataset"},
        "arch": {"vi": "Kiến trúc", "en": "Architecture"},
        "depth": {"vi": "Độ sâu", "en": "Depth"},
        "norm": {"vi": "Chuẩn hóa", "en": "Normalization"},
        "test_accuracy_mean": {"vi": "Độ chính xác test", "en": "Test accuracy"},
        "test_accuracy_ci": {"vi": "KTC 95% độ chính xác", "en": "95% CI accuracy"},
        "test_loss_mean": {"vi": "Loss test", "en": "Test loss"},
        "steps_to_threshold_mean": {
            "vi": "Số bước tới ngưỡng loss",
            "en": "Steps to loss threshold",
        },
        "steps_to_threshold_ci": {"vi": "KTC 95% số bước", "en": "95% CI steps"},
        "reached_threshold_fraction": {"vi": "Tỉ lệ đạt ngưỡng", "en": "Share reaching threshold"},
        "loss_oscillation_mean": {
            "vi": "Dao động loss (SD Δloss)",
            "en": "Loss oscillation (SD of Δloss)",
        },
        "loss_oscillation_ci": {"vi": "KTC 95% dao động", "en": "95% CI oscillation"},
        "grad_norm_first_layer_init_mean": {"vi": "‖∇W₁‖ lúc khởi tạo", "en": "‖∇W₁‖ at init"},
        "grad_norm_first_layer_init_ci": {"vi": "KTC 95% ‖∇W₁‖", "en": "95% CI ‖∇W₁‖"},
        "diverged_fraction": {"vi": "Tỉ lệ phân kỳ (NaN/inf)", "en": "Diverged share (NaN/inf)"},
        "mode": {"vi": "Chế độ", "en": "Mode"},
        "output_std_b1": {"vi": "SD đầu ra, B=1", "en": "Output SD, B=1"},
        "output_std_b2": {"vi": "SD đầu ra, B=2", "en": "Output SD, B=2"},
        "output_std_b4": {"vi": "SD đầu ra, B=4", "en": "Output SD, B=4"},
        "output_std_b8": {"vi": "SD đầu ra, B=8", "en": "Output SD, B=8"},
        "output_std_b32": {"vi": "SD đầu ra, B=32", "en": "Output SD, B=32"},
        "output_std_b128": {"vi": "SD đầu ra, B=128", "en": "Output SD, B=128"},
        "output_std": {"vi": "SD đầu ra", "en": "Output SD"},
        "batch_size": {"vi": "Kích thước batch", "en": "Batch size"},
        "loglog_slope": {"vi": "Độ dốc log-log", "en": "Log-log slope"},
        "batch_dependent": {"vi": "Phụ thuộc batch", "en": "Batch-dependent"},
        "online_ok": {"vi": "Suy luận B=1 dùng được", "en": "Online (B=1) inference works"},
        "batch1_error": {"vi": "Lỗi ở B=1", "en": "Error at B=1"},
        "layers": {"vi": "Số lớp", "en": "Layers"},
        "warmup": {"vi": "Warm-up", "en": "Warm-up"},
        "final_loss_mean": {"vi": "Loss cuối", "en": "Final loss"},
        "final_loss_ci": {"vi": "KTC 95% loss cuối", "en": "95% CI final loss"},
        "chance_loss": {"vi": "Loss đoán mò (ln V)", "en": "Chance loss (ln V)"},
        "grad_ffn_bottom_init": {"vi": "‖∇W₂‖ lớp dưới cùng", "en": "‖∇W₂‖ bottom layer"},
        "grad_ffn_top_init": {"vi": "‖∇W₂‖ lớp trên cùng", "en": "‖∇W₂‖ top layer"},
        "grad_ffn_top_bottom_ratio": {"vi": "Tỉ số trên/dưới", "en": "Top/bottom ratio"},
        # values
        "none": {"vi": "không chuẩn hóa", "en": "none"},
        "layernorm": {"vi": "LayerNorm", "en": "LayerNorm"},
        "rmsnorm": {"vi": "RMSNorm", "en": "RMSNorm"},
        "batchnorm": {"vi": "BatchNorm", "en": "BatchNorm"},
        "groupnorm": {"vi": "GroupNorm", "en": "GroupNorm"},
        "dyt": {"vi": "DyT", "en": "DyT"},
        "plain": {"vi": "MLP thường", "en": "plain MLP"},
        "residual": {"vi": "residual (pre-norm)", "en": "residual (pre-norm)"},
        "digits": {"vi": "digits (sklearn)", "en": "digits (sklearn)"},
        "synthetic": {"vi": "tổng hợp", "en": "synthetic"},
        "train": {"vi": "train", "en": "train"},
        "eval": {"vi": "eval", "en": "eval"},
        "post_ln": {"vi": "Post-LN", "en": "Post-LN"},
        "pre_ln": {"vi": "Pre-LN", "en": "Pre-LN"},
    }
)


# ---------------------------------------------------------------- main-text tables and verdicts
LABELS.update(
    {
        "property": {"vi": "Tính chất", "en": "Property"},
        "train_eval_same": {"vi": "Train và eval như nhau", "en": "Same in train and eval"},
        "holds_only_if": {"vi": "chỉ đúng khi", "en": "holds only if"},
        "inconclusive": {"vi": "chưa kết luận được", "en": "inconclusive"},
        "measured_behavior": {"vi": "Đo được", "en": "Measured"},
        "growth_rate": {"vi": "Tốc độ tăng", "en": "Growth rate"},
        "supplement": {"vi": "Phụ lục", "en": "Supplement"},
        # identities checked in the invariances table
        "ln_affine_input": {"vi": "LN(a·x + b) = LN(x)", "en": "LN(a·x + b) = LN(x)"},
        "rmsnorm_scale": {"vi": "RMSNorm(a·x) = RMSNorm(x)", "en": "RMSNorm(a·x) = RMSNorm(x)"},
        "rmsnorm_shift": {"vi": "RMSNorm(x + b) = RMSNorm(x)", "en": "RMSNorm(x + b) = RMSNorm(x)"},
        "groupnorm1_equals_layernorm": {
            "vi": "GroupNorm 1 nhóm = LayerNorm",
            "en": "GroupNorm with 1 group = LayerNorm",
        },
        "batchnorm_batch2_sign": {
            "vi": "BatchNorm, batch 2: đầu ra ±1",
            "en": "BatchNorm, batch of 2: outputs ±1",
        },
    }
)

# keys built from a value ("beta=2" -> "β = 2"): the column of one β in the 3 x 3 grid
PATTERNS: dict[str, dict[str, str]] = {
    "beta=": {"vi": "β = {}", "en": "β = {}"},
    "gamma=": {"vi": "γ = {}", "en": "γ = {}"},
    "batch=": {"vi": "batch = {}", "en": "batch = {}"},
}
# messages a library wrote (English) -> the reader's language; the message itself stays in the CSV
MESSAGES: dict[str, dict[str, str]] = {
    "Expected more than 1 value per channel when training": {
        "vi": "lỗi: khi train cần hơn 1 giá trị mỗi kênh",
        "en": "error: more than 1 value per channel needed in training",
    },
}


def label(key: object, language: str = "vi") -> str:
    text = str(key)
    entry = LABELS.get(text)
    if entry:
        return entry.get(language, entry["en"])
    for start, forms in MESSAGES.items():
        if text.startswith(start):
            return forms.get(language, forms["en"])
    for prefix, forms in PATTERNS.items():
        if text.startswith(prefix):
            return forms.get(language, forms["en"]).format(text[len(prefix) :])
    return text
