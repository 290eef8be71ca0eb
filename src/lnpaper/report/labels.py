"""Human-readable names for columns and values, in Vietnamese (default) and English.

CSV files keep the machine names (``growth_rate_mean``); Markdown, LaTeX and figures use these.
Unknown keys fall back to the key itself, so a new column never breaks a table.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

# the data file rules list as input with this module (lnpaper.pipeline.deps reads DATA_FILES)
DATA_FILES = ["text.yaml"]


@functools.cache
def _text_file() -> dict:
    return yaml.safe_load((Path(__file__).parent / DATA_FILES[0]).read_text(encoding="utf-8"))


def texts(section: str) -> dict:
    """One section of report/text.yaml: key -> {vi, en} (or a template / word per language)."""
    return _text_file()[section]


LABELS: dict = texts("labels")  # report/text.yaml


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
PATTERNS: dict = texts("label_patterns")  # report/text.yaml
# messages a library wrote (English) -> the reader's language; the message itself stays in the CSV
MESSAGES: dict = texts("label_messages")  # report/text.yaml


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
