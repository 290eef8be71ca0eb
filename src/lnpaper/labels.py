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
    "overflow_step_median": {"vi": "Bước tràn fp32 (trung vị)", "en": "fp32 overflow step (median)"},
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
    # values
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


def label(key: object, language: str = "vi") -> str:
    entry = LABELS.get(str(key))
    return entry.get(language, entry["en"]) if entry else str(key)
