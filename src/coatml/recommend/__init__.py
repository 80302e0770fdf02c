"""coatml.recommend"""
