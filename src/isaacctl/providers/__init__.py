"""Provider plugins: one module per place a workstation can live, one contract (`base`)."""
