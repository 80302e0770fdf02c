"""coatml.data"""
