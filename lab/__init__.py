"""The Vantage lab: a mini-Internet in network namespaces, staged shutdowns and the demo."""
