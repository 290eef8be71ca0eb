"""Tables, figures, claims and quoted numbers, built from the experiments' frames."""
