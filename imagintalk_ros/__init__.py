"""ImaginTalk as a ROS 2 node: camera topics in, speech out (docs/ros.md).

Thin over the core library: ``speak_node`` (lifecycle node: parameters, QoS, buffering,
publishing), ``convert`` (sensor_msgs images -> numpy), ``video_source`` (a video file or
webcam as an image topic), ``messages`` (the package's own messages). Imports rclpy; the
core library ``imagintalk`` never does.
"""
