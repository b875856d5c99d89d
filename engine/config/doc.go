// Package config reads config.toml into a Config: defaults first, the file
// decoded over them (unknown keys are errors), ${VAR} references expanded
// from the environment and a .env file beside the config, then Validate
// turns it into checked values and names the key of anything wrong.
package config
