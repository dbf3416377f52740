"""Built-in engine profiles (native TOML files shipped with the package)."""
