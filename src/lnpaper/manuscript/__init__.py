"""The paper as a pipeline target: fill the template, render, stamp, bundle."""
