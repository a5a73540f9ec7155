"""Shared test settings.

One thread per test process (the build machines have 2 cores), and ROS 2 / DDS traffic
kept on loopback in a test domain for any test that starts rclpy.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", "77")
