"""coatml.bench"""
