"""The verdict engine: reachability status per AS and per country, with events.

Pure and deterministic: plain data in (`model.Observation`s and the engine's
state from past rounds), plain data out; `now` is an argument, never read.
"""
