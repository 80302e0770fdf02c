"""coatml.models"""
