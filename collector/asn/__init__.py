"""IP -> AS number, AS name and country: dataset formats, merging, the range table."""
