"""ros2 launch imagintalk speak.launch.py [image_topic:=...] [model_dir:=...] [device:=...] [video:=FILE]
[profile:=DIR] [steps:=N] [face_selection:=largest|centre|roi] [namespace:=NS]

Starts the imagintalk speech node (a lifecycle node that activates itself: autostart in
config/speak.yaml) with config/speak.yaml, and, when ``video`` names a file, the video source
publishing it on the same image topic. The launch arguments' defaults are read from
config/speak.yaml, so an argument left out keeps the yaml's value. One launch per camera, each in its
own ``namespace``. Standard launch_ros; see docs/ros.md for where it was run.
"""

import os

import yaml
from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import LifecycleNode, Node
from launch_ros.parameter_descriptions import ParameterValue

from launch import LaunchDescription


def generate_launch_description() -> LaunchDescription:
    params = os.path.join(get_package_share_directory("imagintalk"), "config", "speak.yaml")
    with open(params) as handle:  # the arguments default to the yaml's values (one source of truth)
        node_yaml = yaml.safe_load(handle)["/**/imagintalk_speak"]["ros__parameters"]
    video = LaunchConfiguration("video")

    def default(name: str) -> str:
        return str(node_yaml[name])

    def text(name: str) -> ParameterValue:  # "" stays a string (YAML would read it as null)
        return ParameterValue(LaunchConfiguration(name), value_type=str)

    return LaunchDescription(
        [
            DeclareLaunchArgument("image_topic", default_value=default("image_topic")),
            DeclareLaunchArgument(
                "model_dir", default_value=default("model_dir"), description="'' = the shipped model"
            ),
            DeclareLaunchArgument(
                "device", default_value=default("device"), description="cpu, cuda, cuda:N or auto"
            ),
            DeclareLaunchArgument("steps", default_value=default("steps"), description="diffusion steps"),
            DeclareLaunchArgument(
                "face_selection",
                default_value=default("face_selection"),
                description="largest, centre or roi",
            ),
            DeclareLaunchArgument("video", default_value="", description="a video file to publish as camera"),
            DeclareLaunchArgument(
                "profile", default_value=default("profile"), description="imagintalk enroll profile"
            ),
            DeclareLaunchArgument("namespace", default_value="", description="one per camera, e.g. front"),
            LifecycleNode(
                package="imagintalk",
                executable="speak_node",
                name="imagintalk_speak",
                namespace=LaunchConfiguration("namespace"),
                output="screen",
                parameters=[
                    params,
                    {
                        "image_topic": text("image_topic"),
                        "model_dir": text("model_dir"),
                        "device": text("device"),
                        "profile": text("profile"),
                        "face_selection": text("face_selection"),
                        "steps": ParameterValue(LaunchConfiguration("steps"), value_type=int),
                        "autostart": True,
                    },
                ],
            ),
            Node(
                package="imagintalk",
                executable="video_source",
                name="imagintalk_video_source",
                namespace=LaunchConfiguration("namespace"),
                output="screen",
                parameters=[
                    params,
                    {"video": text("video"), "topic": text("image_topic"), "wait_for_subscribers": 1},
                ],
                condition=IfCondition(PythonExpression(["'", video, "' != ''"])),
            ),
        ]
    )
