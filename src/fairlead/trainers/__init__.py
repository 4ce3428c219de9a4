"""Trainers: tabular Q-learning, JAM-QL's vector mediator, the JAM-QL loop, its evaluation and method configs."""
