"""ros2 launch imagintalk speak.launch.py [image_topic:=...] [model_dir:=...] [device:=...] [video:=FILE]
[profile:=DIR]

Starts the imagintalk speech node (a lifecycle node that activates itself: autostart in
config/speak.yaml) with config/speak.yaml, and, when ``video`` names a file, the video source
publishing it on the same image topic. Standard launch_ros; see docs/ros.md for where it was run.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    params = os.path.join(get_package_share_directory("imagintalk"), "config", "speak.yaml")
    video = LaunchConfiguration("video")

    def text(name: str) -> ParameterValue:  # "" stays a string (YAML would read it as null)
        return ParameterValue(LaunchConfiguration(name), value_type=str)

    return LaunchDescription(
        [
            DeclareLaunchArgument("image_topic", default_value="/camera/image_raw"),
            DeclareLaunchArgument("model_dir", default_value="", description="'' = the shipped model"),
            DeclareLaunchArgument("device", default_value="cpu", description="cpu, cuda, cuda:N or auto"),
            DeclareLaunchArgument("steps", default_value="64", description="diffusion steps"),
            DeclareLaunchArgument("video", default_value="", description="a video file to publish as camera"),
            DeclareLaunchArgument("profile", default_value="", description="imagintalk enroll profile"),
            LifecycleNode(
                package="imagintalk",
                executable="speak_node",
                name="imagintalk_speak",
                namespace="",
                output="screen",
                parameters=[
                    params,
                    {
                        "image_topic": text("image_topic"),
                        "model_dir": text("model_dir"),
                        "device": text("device"),
                        "profile": text("profile"),
                        "steps": ParameterValue(LaunchConfiguration("steps"), value_type=int),
                        "autostart": True,
                    },
                ],
            ),
            Node(
                package="imagintalk",
                executable="video_source",
                name="imagintalk_video_source",
                output="screen",
                parameters=[
                    params,
                    {"video": text("video"), "topic": text("image_topic"), "wait_for_subscribers": 1},
                ],
                condition=IfCondition(PythonExpression(["'", video, "' != ''"])),
            ),
        ]
    )
