"""coatml.cli"""
