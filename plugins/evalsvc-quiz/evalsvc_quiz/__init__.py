"""应知应会测试 (a knowledge test) as an evalsvc questionnaire kind, in its own package."""
